import type { Created } from "../api/client";

/** Credentials shown once (after a create or a rotation), each with a copy button. */
export function CredentialsCard({ created }: { created: Created }) {
  const { credentials } = created;
  const fields: [string, string][] = [
    ["SMTP server", credentials.smtp_server],
    ["Port", String(credentials.smtp_port)],
    ["Username", credentials.username],
    ["Password", credentials.password],
  ];
  return (
    <section aria-labelledby="credentials-title" className="credentials">
      <h2 id="credentials-title" tabIndex={-1}>
        Credentials of {created.email}
      </h2>
      <p className="notice">
        <strong>Shown only once.</strong> Copy the password now: it cannot be shown again
        (rotate the credentials to get a new one).
      </p>
      <dl>
        {fields.map(([label, value]) => (
          <div key={label} className="credential">
            <dt>{label}</dt>
            <dd>
              <code>{value}</code>
              <button type="button" onClick={() => void navigator.clipboard.writeText(value)}>
                Copy {label.toLowerCase()}
              </button>
            </dd>
          </div>
        ))}
      </dl>
      {credentials.authentication === "xoauth2" && (
        <p>
          This provider does not accept the password over SMTP: mail clients sign in with OAuth
          (XOAUTH2); the password opens the webmail.
        </p>
      )}
    </section>
  );
}
