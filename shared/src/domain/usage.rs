//! A provider account's slots (API keys, IAM users, licences), each
//! address taking one, and the rule for how many a create may take.

use chrono::{DateTime, Utc};

use super::ProviderKind;

/// Slots a create leaves free: a rotation holds a new credential beside
/// the old one (a key-based provider) until it revokes the old.
pub const SLOTS_KEPT_FOR_ROTATIONS: u64 = 1;

/// A provider account's slots in use and in all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub used: u64,
    pub limit: u64,
}

impl Usage {
    /// A create takes one slot and leaves the rotations theirs.
    pub fn has_room_for_a_create(&self) -> bool {
        self.used + 1 + SLOTS_KEPT_FOR_ROTATIONS <= self.limit
    }

    pub fn used_percent(&self) -> f64 {
        if self.limit == 0 {
            return 100.0;
        }
        100.0 * self.used as f64 / self.limit as f64
    }
}

/// A provider's usage as last read, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordedUsage {
    pub provider: ProviderKind,
    pub usage: Usage,
    pub at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_create_leaves_one_slot_for_rotations() {
        let at = |used, limit| Usage { used, limit }.has_room_for_a_create();
        assert!(at(0, 100));
        assert!(at(98, 100));
        assert!(!at(99, 100));
        assert!(!at(100, 100));
        assert!(!at(120, 100));
        assert!(!at(0, 1));
        assert!(!at(0, 0));
        assert_eq!(
            Usage {
                used: 80,
                limit: 100
            }
            .used_percent(),
            80.0
        );
        assert_eq!(Usage { used: 0, limit: 0 }.used_percent(), 100.0);
    }
}
