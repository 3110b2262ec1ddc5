//! Indicator tags (spec §7.6): one-word labels, trimmed, lower-cased and de-duplicated in
//! their first-seen order. The 255-character limit on the joined list is a separate check,
//! since it applies after an upsert merges stored and submitted tags.

use std::fmt;

use super::DomainError;

/// The longest tag, in characters.
pub const MAX_TAG_CHARS: usize = 64;
/// The longest comma-joined tag list of an API-written indicator, in characters (§10).
pub const MAX_JOINED_CHARS: usize = 255;

/// A list of valid, distinct tags in their first-seen order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Tags(Vec<String>);

impl Tags {
    /// Reads one comma-separated string such as `"scanner, SSH"`.
    ///
    /// Error code: `invalid_format` for a tag that is not one word of 1–64 characters.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        Self::from_list(raw.split(','))
    }

    /// Reads a list of tags such as `["scanner", "ssh"]`; an item is one tag, never split on
    /// commas. Items are trimmed and lower-cased, empty items dropped, duplicates removed
    /// (the first kept).
    ///
    /// Error code: `invalid_format` for a tag that is not one word of 1–64 characters.
    pub fn from_list<I, S>(items: I) -> Result<Self, DomainError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut tags = Tags::default();
        for item in items {
            let tag = item.as_ref().trim().to_lowercase();
            if tag.is_empty() {
                continue;
            }
            check_tag(&tag)?;
            tags.push(tag);
        }
        Ok(tags)
    }

    /// Appends the tags of `other` that are not already here, in their order.
    pub fn merge(&mut self, other: &Tags) {
        for tag in &other.0 {
            self.push(tag.clone());
        }
    }

    /// The tags joined with commas, as stored (`scanner,ssh`); empty when there are none.
    pub fn joined(&self) -> String {
        self.0.join(",")
    }

    /// Checks that the joined form fits in 255 characters (`too_long` otherwise).
    pub fn check_joined_len(&self) -> Result<(), DomainError> {
        let chars = self.0.iter().map(|t| t.chars().count()).sum::<usize>()
            + self.0.len().saturating_sub(1);
        if chars > MAX_JOINED_CHARS {
            return Err(joined_too_long());
        }
        Ok(())
    }

    /// The tags, in order.
    pub fn as_slice(&self) -> &[String] {
        &self.0
    }

    /// The tags, consuming the list.
    pub fn into_vec(self) -> Vec<String> {
        self.0
    }

    /// Whether there are no tags.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The number of tags.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    fn push(&mut self, tag: String) {
        if !self.0.contains(&tag) {
            self.0.push(tag);
        }
    }
}

impl fmt::Display for Tags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.joined())
    }
}

/// The refusal of a joined list over 255 characters (`too_long`).
pub fn joined_too_long() -> DomainError {
    DomainError::new(
        "too_long",
        format!("the tags joined with commas are longer than {MAX_JOINED_CHARS} characters"),
    )
}

/// One tag, already trimmed and lower-cased: 1–64 Unicode letters, digits and `-_.:+`.
fn check_tag(tag: &str) -> Result<(), DomainError> {
    let valid = tag.chars().count() <= MAX_TAG_CHARS
        && tag
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '+'));
    if valid {
        Ok(())
    } else {
        Err(DomainError::new(
            "invalid_format",
            format!(
                "a tag is one word of 1-{MAX_TAG_CHARS} letters, digits and - _ . : + (no spaces or commas)"
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn list(tags: &Tags) -> Vec<&str> {
        tags.as_slice().iter().map(String::as_str).collect()
    }

    #[test]
    fn comma_strings_and_lists_are_normalised() {
        let table: [(&str, &[&str]); 8] = [
            ("scanner,ssh", &["scanner", "ssh"]),
            (" Scanner , SSH ", &["scanner", "ssh"]),
            ("ssh,,scanner,", &["ssh", "scanner"]),
            ("ssh,SSH,scanner,ssh", &["ssh", "scanner"]),
            ("", &[]),
            (" , ", &[]),
            ("Größe,ÄPFEL,日本", &["größe", "äpfel", "日本"]),
            (
                "c2:http,mirai-v2,a_b.c+d",
                &["c2:http", "mirai-v2", "a_b.c+d"],
            ),
        ];
        for (raw, want) in table {
            assert_eq!(list(&Tags::parse(raw).unwrap()), want, "{raw:?}");
        }
        let tags = Tags::from_list(["Scanner", " ", "ssh", "scanner"]).unwrap();
        assert_eq!(list(&tags), ["scanner", "ssh"]);
        assert_eq!(tags.joined(), "scanner,ssh");
        assert_eq!(tags.to_string(), "scanner,ssh");
        assert_eq!(tags.len(), 2);
        assert!(Tags::from_list(Vec::<String>::new()).unwrap().is_empty());
    }

    #[test]
    fn tags_that_are_not_one_word_are_refused() {
        let too_long = "a".repeat(65);
        for bad in [
            "brute force",
            "a/b",
            "a;b",
            "tab\tbed",
            "<b>",
            "ssh!",
            "a\u{0}",
            &too_long,
        ] {
            assert_eq!(
                Tags::parse(bad).unwrap_err().code,
                "invalid_format",
                "{bad:?}"
            );
        }
        // A list item is one tag: a comma inside it is refused, not split.
        assert_eq!(Tags::from_list(["a,b"]).unwrap_err().code, "invalid_format");
        assert!(Tags::parse(&"ä".repeat(64)).is_ok());
    }

    #[test]
    fn merging_appends_new_tags_in_order() {
        let mut stored = Tags::parse("scanner,ssh").unwrap();
        stored.merge(&Tags::parse("telnet,ssh,mirai").unwrap());
        assert_eq!(stored.joined(), "scanner,ssh,telnet,mirai");
    }

    #[test]
    fn the_joined_list_must_fit_in_255_characters() {
        // 51 tags of 4 characters and 50 commas: 254; 52 tags: 259.
        let tags = |n: usize| Tags::from_list((0..n).map(|i| format!("t{i:03}"))).unwrap();
        assert!(tags(51).check_joined_len().is_ok());
        assert_eq!(tags(52).check_joined_len().unwrap_err().code, "too_long");
        let wide = Tags::from_list([
            "é".repeat(64),
            "ü".repeat(64),
            "ö".repeat(64),
            "ä".repeat(60),
        ])
        .unwrap();
        assert_eq!(wide.joined().chars().count(), 255);
        assert!(wide.check_joined_len().is_ok());
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics_and_normalising_is_idempotent(s in "\\PC{0,80}") {
            if let Ok(tags) = Tags::parse(&s) {
                let again = Tags::parse(&tags.joined()).unwrap();
                prop_assert_eq!(&again, &tags);
                prop_assert_eq!(Tags::from_list(tags.as_slice()).unwrap(), tags);
            }
        }

        #[test]
        fn valid_tags_round_trip(items in prop::collection::vec("[a-z0-9äß:+._-]{1,10}", 0..8)) {
            let tags = Tags::from_list(&items).unwrap();
            prop_assert_eq!(Tags::parse(&tags.joined()).unwrap(), tags.clone());
            let mut merged = tags.clone();
            merged.merge(&tags);
            prop_assert_eq!(merged, tags);
        }
    }
}
