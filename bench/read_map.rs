//! The cost of reading and mapping a Shadowserver report alone (no database): the parse side
//! of bench scenario 7, whose end-to-end figure also holds the writer. Each sample file of
//! `shared/spec/shadowserver.md` §6.3 is cycled to 200,000 rows, a unique IPv4 per row as in
//! `bench/datagen.py`, then hashed, read and mapped in memory.
//!
//! `cargo run --release --example read_map [ROWS]`; a debug build measures nothing useful.

use std::error::Error;
use std::io::Cursor;
use std::path::Path;
use std::time::Instant;

use chrono::NaiveDateTime;
use feedgate::import::shadowserver::{ImportOptions, open_report};

const SAMPLES: [&str; 3] = [
    "intelmq-testdata/blocklist.csv",
    "intelmq-testdata/scan_ssl.csv",
    "intelmq-testdata/event4_sinkhole_http.csv",
];

fn main() -> Result<(), Box<dyn Error>> {
    let rows_wanted: u32 = match std::env::args().nth(1) {
        Some(n) => n.parse()?,
        None => 200_000,
    };
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/shadowserver");
    // After every sample's timestamp, as in the engine's tests.
    let now = NaiveDateTime::parse_from_str("2026-01-01 00:00:00", "%Y-%m-%d %H:%M:%S")?;
    for rel in SAMPLES {
        let text = std::fs::read_to_string(dir.join(rel))?;
        let (header, body) = text.split_once('\n').ok_or("no header line")?;
        let rows: Vec<&str> = body.lines().collect();
        let col = header
            .split(',')
            .position(|h| h == "\"ip\"" || h == "\"src_ip\"")
            .ok_or("no ip column")?;
        let mut big = format!("{header}\n");
        for i in 0..rows_wanted {
            let row = rows[i as usize % rows.len()];
            let ip = std::net::Ipv4Addr::from(0x0a00_0000 + i).to_string();
            let mut fields: Vec<String> = row.split(',').map(str::to_owned).collect();
            fields[col] = format!("\"{ip}\"");
            big.push_str(&fields.join(","));
            big.push('\n');
        }
        let start = Instant::now();
        let name = rel.rsplit('/').next().unwrap_or(rel);
        let opts = ImportOptions::new(now);
        let mut report = open_report(Cursor::new(big.as_bytes()), name, &opts)?;
        let hashed = start.elapsed().as_secs_f64();
        let mut rows = report.rows(0)?;
        let mapped = rows.by_ref().filter(Result::is_ok).count();
        let secs = start.elapsed().as_secs_f64();
        println!(
            "{rel}: {} rows, {mapped} mapped, {:.0} rows/s, {:.1} MB, hashing {hashed:.2} s of {secs:.2} s",
            rows.rows_read(),
            rows.rows_read() as f64 / secs,
            big.len() as f64 / 1e6
        );
    }
    Ok(())
}
