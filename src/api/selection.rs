//! `itype` and `tags` as the exports and the web feed page read them: which indicators of a
//! feed a reader selects (one type; any of the tags). A search reads its own (lists of types,
//! tags through the statement), since its rows are chosen in SQL.

use std::collections::BTreeMap;

use crate::domain::thing::Itype;
use crate::error::ApiError;

/// The indicators a request selects by type and tags (all when both are empty).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selection {
    pub itype: Option<Itype>,
    /// Kept: indicators with any of these tags, lower-case (all when empty).
    pub tags: Vec<String>,
}

impl Selection {
    /// Reads `itype` (one type name; 400 `invalid_parameter` otherwise) and `tags` (a comma
    /// list, blanks skipped).
    pub fn read(params: &BTreeMap<&'static str, String>) -> Result<Self, ApiError> {
        let itype = params
            .get("itype")
            .map(|raw| {
                Itype::parse_name(raw).ok_or_else(|| ApiError::InvalidParameter {
                    parameter: "itype".to_owned(),
                    message: format!(
                        "itype must be one of {}",
                        Itype::ALL.map(Itype::as_str).join(", ")
                    ),
                })
            })
            .transpose()?;
        let tags = params
            .get("tags")
            .map(|raw| {
                raw.split(',')
                    .map(|t| t.trim().to_lowercase())
                    .filter(|t| !t.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        Ok(Selection { itype, tags })
    }

    /// Whether it selects everything.
    pub fn is_everything(&self) -> bool {
        self.itype.is_none() && self.tags.is_empty()
    }

    /// Whether it selects an indicator of type `itype` with the stored comma list `tags`.
    pub fn selects(&self, itype: Itype, tags: &str) -> bool {
        if self.itype.is_some_and(|t| t != itype) {
            return false;
        }
        self.tags.is_empty()
            || tags.split(',').any(|t| {
                self.tags
                    .iter()
                    .any(|want| want.eq_ignore_ascii_case(t.trim()))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(pairs: &[(&'static str, &str)]) -> Result<Selection, ApiError> {
        Selection::read(&pairs.iter().map(|(k, v)| (*k, v.to_string())).collect())
    }

    #[test]
    fn a_type_and_any_tag_select() {
        let s = read(&[("itype", "ipv4"), ("tags", "SSH, ,scanner")]).unwrap();
        assert_eq!(s.tags, ["ssh", "scanner"]);
        assert!(s.selects(Itype::Ipv4, "botnet,ssh"));
        assert!(!s.selects(Itype::Ipv4, "botnet"));
        assert!(!s.selects(Itype::Fqdn, "ssh"));
        assert!(read(&[]).unwrap().is_everything());
        assert!(read(&[("itype", "nope")]).is_err());
    }
}
