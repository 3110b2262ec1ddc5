//! Who is looking, as far as visibility rules care: nobody, a user, or an admin. The rules
//! themselves live in `auth::access` (and the SQL filters that apply them in `models`).

/// The viewer of a read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Viewer {
    /// No credentials: public feeds only.
    #[default]
    Anonymous,
    /// A user: public feeds and their own private ones.
    User(i64),
    /// An admin: every feed.
    Admin(i64),
}

impl Viewer {
    /// Whether this viewer sees the private feeds of the user `owner`.
    pub fn sees_private_of(self, owner: i64) -> bool {
        match self {
            Viewer::Anonymous => false,
            Viewer::User(id) => id == owner,
            Viewer::Admin(_) => true,
        }
    }

    /// Whether this viewer reads the AMBER and RED indicators of the user `owner`: only the
    /// owner and admins do (the TLP rule), on every route.
    pub fn reads_restricted_of(self, owner: i64) -> bool {
        self.sees_private_of(owner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_owners_and_admins_see_private_feeds() {
        assert!(!Viewer::Anonymous.sees_private_of(1));
        assert!(Viewer::User(1).sees_private_of(1));
        assert!(!Viewer::User(2).sees_private_of(1));
        assert!(Viewer::Admin(2).sees_private_of(1));
        assert_eq!(Viewer::default(), Viewer::Anonymous);
    }
}
