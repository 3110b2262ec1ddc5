//! The cost of the export whitelist: loading a warninglist directory (time and resident
//! memory) and checking values against it with the special-purpose blocks (time per value).
//!
//! `cargo run --release --example whitelist DIR [LOOKUPS]`, DIR being e.g. the
//! `pymispwarninglists/data/misp-warninglists` folder of `pip install pymispwarninglists`.
//! A debug build measures nothing useful.

use std::error::Error;
use std::path::Path;
use std::time::Instant;

use feedgate::domain::thing::Thing;
use feedgate::domain::whitelist::Builder;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// A small deterministic generator, so runs compare.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 16
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().ok_or("usage: whitelist DIR [LOOKUPS]")?;
    let lookups: usize = match args.next() {
        Some(n) => n.parse()?,
        None => 1_000_000,
    };
    let before = rss_kib();
    let start = Instant::now();
    let mut builder = Builder::new();
    builder.special();
    let loaded = feedgate::warninglists::load_into(&mut builder, Path::new(&dir))?;
    let list = builder.build()?;
    let load = start.elapsed();
    let after = rss_kib();
    println!(
        "loaded {} lists, {} entries ({} skipped) in {:.2} s, RSS +{} MB",
        loaded.lists,
        loaded.entries,
        loaded.skipped,
        load.as_secs_f64(),
        after.saturating_sub(before) / 1024
    );

    // A mix a feed holds: addresses, networks, domains (some real, most random), URLs, hashes.
    let mut rng = Lcg(42);
    let known = ["www.google.com", "a.b.amazonaws.com", "8.8.8.8", "1.1.1.1"];
    let mut things = Vec::with_capacity(10_000);
    for i in 0..10_000u64 {
        let r = rng.next();
        let raw = match i % 8 {
            0 | 1 => format!(
                "{}.{}.{}.{}",
                r % 223 + 1,
                (r >> 8) % 256,
                (r >> 16) % 256,
                (r >> 24) % 256
            ),
            2 => format!(
                "{}.{}.{}.0/24",
                r % 223 + 1,
                (r >> 8) % 256,
                (r >> 16) % 256
            ),
            3 => format!(
                "host{}.sub{}.example{}.com",
                r % 1000,
                (r >> 10) % 100,
                (r >> 20) % 5000
            ),
            4 => format!("http://site{}.net/path/{}", r % 100_000, r >> 20),
            5 => format!("{:032x}", u128::from(r) * 0x9e37_79b9_7f4a_7c15),
            6 => format!("user{}@mail{}.org", r % 1000, (r >> 12) % 1000),
            _ => known[(r % 4) as usize].to_owned(),
        };
        things.push(Thing::parse(&raw)?);
    }
    let start = Instant::now();
    let mut hits = 0usize;
    for i in 0..lookups {
        if list.check(&things[i % things.len()]).is_some() {
            hits += 1;
        }
    }
    let per = start.elapsed().as_nanos() as f64 / lookups as f64;
    println!("{lookups} checks, {hits} whitelisted, {per:.0} ns per value");
    Ok(())
}
