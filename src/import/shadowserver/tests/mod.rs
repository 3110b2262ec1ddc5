//! Tests of the whole engine (spec §7): helpers shared by the corpus test (`corpus.rs`, every
//! sample file) and the edge-case checklist (`checklist.rs`, §7.3 items about reading and
//! mapping). Unit tests of single parts live beside their code.

mod checklist;
mod corpus;

use std::collections::{BTreeMap, HashSet};
use std::io::Cursor;
use std::path::{Path, PathBuf};

use chrono::NaiveDateTime;

use super::*;

/// The import's start in these tests: after every sample's timestamp.
pub(super) fn now() -> NaiveDateTime {
    NaiveDateTime::parse_from_str("2026-01-01 00:00:00", "%Y-%m-%d %H:%M:%S").unwrap()
}

/// The data folder.
pub(super) fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/shadowserver")
}

/// Everything the engine said about one file.
#[derive(Debug, Default)]
pub(super) struct Outcome {
    pub label: String,
    pub rule: Option<Rule>,
    pub rejected: Option<FileError>,
    pub rows_read: u64,
    pub mapped: Vec<MappedRow>,
    pub skips: Vec<RowSkip>,
    pub warnings: Warnings,
    pub incomplete: bool,
    pub indicator_column: Option<String>,
}

impl Outcome {
    /// Distinct import keys: what a fresh feed would create.
    pub fn created(&self) -> usize {
        self.mapped
            .iter()
            .map(|r| r.import_key.as_str())
            .collect::<HashSet<_>>()
            .len()
    }

    pub fn skipped(&self) -> BTreeMap<&'static str, usize> {
        let mut m = BTreeMap::new();
        for s in &self.skips {
            *m.entry(s.reason.as_str()).or_default() += 1;
        }
        m
    }
}

/// Runs every file of a report through the engine.
pub(super) fn run_bytes(bytes: &[u8], name: &str, explicit: Option<&str>) -> Vec<Outcome> {
    let mut opts = ImportOptions::new(now());
    opts.explicit_type = explicit.map(str::to_owned);
    run_with(bytes, name, &opts).unwrap()
}

pub(super) fn run_with(
    bytes: &[u8],
    name: &str,
    opts: &ImportOptions,
) -> Result<Vec<Outcome>, ImportError> {
    let mut report = open_report(Cursor::new(bytes), name, opts)?;
    let facts: Vec<FileFacts> = report.files().to_vec();
    let mut out = Vec::new();
    for (i, f) in facts.iter().enumerate() {
        let mut o = Outcome {
            label: f.report_type.label.clone(),
            rule: Some(f.report_type.rule),
            ..Outcome::default()
        };
        match report.rows(i) {
            Err(e) => o.rejected = Some(e),
            Ok(mut rows) => {
                for item in rows.by_ref() {
                    match item {
                        Ok(r) => o.mapped.push(r),
                        Err(s) => o.skips.push(s),
                    }
                }
                // Tests read the stored copy as the API shows it.
                for r in &mut o.mapped {
                    if r.content.packed {
                        let text = expand_content(&r.content.text, rows.column_names()).unwrap();
                        r.content = Content {
                            text,
                            packed: false,
                        };
                    }
                }
                o.rows_read = rows.rows_read();
                o.warnings = rows.warnings().clone();
                o.incomplete = rows.is_incomplete();
                o.indicator_column = rows.indicator_column().map(str::to_owned);
                assert_eq!(o.rows_read as usize, o.mapped.len() + o.skips.len());
            }
        }
        out.push(o);
    }
    Ok(out)
}

/// One plain sample file.
pub(super) fn sample(rel: &str) -> Outcome {
    sample_as(rel, None)
}

pub(super) fn sample_as(rel: &str, explicit: Option<&str>) -> Outcome {
    let path = data_dir().join(rel);
    let bytes = std::fs::read(&path).unwrap();
    let name = path.file_name().unwrap().to_str().unwrap();
    run_bytes(&bytes, name, explicit).pop().unwrap()
}

pub(super) fn sample_bytes(rel: &str) -> Vec<u8> {
    std::fs::read(data_dir().join(rel)).unwrap()
}

/// Every file under `dir`, recursively.
pub(super) fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// A UTC time from `YYYY-MM-DD HH:MM:SS`.
pub(super) fn at(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
}

/// A row's stored copy, parsed.
pub(super) fn content(row: &MappedRow) -> serde_json::Value {
    serde_json::from_str(&row.content.text).unwrap()
}

#[test]
fn reports_and_rows_can_move_to_a_parsing_thread() {
    fn assert_send<T: Send>() {}
    assert_send::<Report<std::fs::File>>();
    assert_send::<FileRows<'static>>();
    assert_send::<MappedRow>();
}
