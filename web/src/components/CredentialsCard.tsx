import { useEffect, useId, useRef } from "react";
import type { Created } from "../api/client";
import { LabelWithContext } from "./LabelWithContext";
import { useCopy } from "./useCopy";

/**
 * Credentials shown once (after a create or a rotation), each with a copy
 * button; the focus lands on the heading so a keyboard or screen-reader user
 * starts there.
 */
export function CredentialsCard({
  created,
  title,
  onDone,
}: {
  created: Created;
  title: string;
  onDone: () => void;
}) {
  const headingId = useId();
  const heading = useRef<HTMLHeadingElement>(null);
  const [copied, copy] = useCopy();
  const { credentials } = created;
  const fields: [string, string][] = [
    ["SMTP server", credentials.smtp_server],
    ["Port", String(credentials.smtp_port)],
    ["Username", credentials.username],
    ["Password", credentials.password],
  ];

  useEffect(() => heading.current?.focus(), [created]);


  return (
    <section aria-labelledby={headingId} className="card credentials">
      <h3 id={headingId} ref={heading} tabIndex={-1} className="carries-address">
        {title}
      </h3>
      <p className="notice">
        <strong>Shown only once.</strong> Copy the password now: it cannot be shown again (rotate
        the credentials to get a new one).
      </p>
      <dl>
        {fields.map(([label, value]) => (
          <div key={label} className="credential">
            <dt>{label}</dt>
            <dd>
              <code className="carries-address">{value}</code>
              <button type="button" onClick={() => void copy(label, value)}>
                <LabelWithContext visible="Copy" context={`the ${label.toLowerCase()}`} />
              </button>
            </dd>
          </div>
        ))}
      </dl>
      <p role="status" className="copied">
        {copied}
      </p>
      {created.warnings && (
        <div className="warnings" role="note" aria-label="The domain's checks">
          <p>
            <strong>Mail from this address may not arrive:</strong> the domain's DNS fails checks
            that Gmail, Yahoo and Outlook.com apply. An administrator can fix them (Administration,
            Domains).
          </p>
          <ul>
            {created.warnings.map((warning) => (
              <li key={warning.check} className="carries-address">
                {warning.message}
              </li>
            ))}
          </ul>
        </div>
      )}
      {credentials.authentication === "xoauth2" && (
        <p>
          This provider does not accept the password over SMTP: mail clients sign in with OAuth
          (XOAUTH2); the password opens the webmail.
        </p>
      )}
      {created.webmail && (
        <p>
          Webmail:{" "}
          <a href={created.webmail} className="carries-address">
            {created.webmail}
          </a>
        </p>
      )}
      <button type="button" onClick={onDone}>
        I have saved it: hide the password
      </button>
    </section>
  );
}
