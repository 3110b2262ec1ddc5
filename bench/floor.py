#!/usr/bin/env python3
"""The SQLite floor of each read scenario: what the statements a scenario's request runs cost
on their own, with no HTTP, JSON, authentication or thread hand-off.

Runs against a copy of the benchmark's SQLite database (the server must not be writing it),
through Python's sqlite3 module: statements prepared once and re-bound per query (its statement
cache), a 2 MiB page cache as each of the server's pooled connections has, rows fetched as
tuples. The statements are written out here to match the plans feedgate's own take (same
indexes, checked with EXPLAIN QUERY PLAN below); each is timed as the process CPU time per
request over every query of the scenario, after one untimed pass.

    python3 bench/floor.py --db COPY_OF_BENCH.db [--passes 3]

Compare a scenario's floor with the CPU a target leaves per request on this 2-core machine
(2 cores / target req/s, shared with the HTTP framework and the load generator): see
bench/README.md "Where the targets are still missed".
"""

import argparse
import ipaddress
import os
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import datagen  # noqa: E402

ROWS = 32  # the search's LIMIT literal (25 asked + 1, rounded up to a power of two)
PAGE_ROWS = 128  # a feed page's LIMIT literal (100 + 1, rounded up)

INDICATOR_COLS = (
    "id, value, itype, tags, portlist, portlist_src, protocol, firsttime, lasttime, "
    "effective_at, count, description, provider, asn, asn_desc, cc, created_at, updated_at, "
    "feed_id, user_id, ip_lo, ip_hi, host_rev, content, import_key, comments_count, "
    "attachments_count, content_header")
HIT_COLS = ", ".join(f"indicators.{c.strip()}" for c in INDICATOR_COLS.split(",")) + \
    ", feeds.id, feeds.user_id, feeds.name, feeds.description, feeds.private, " \
    "feeds.license_name, feeds.license_url, feeds.indicator_count, feeds.created_at, " \
    "feeds.updated_at, users.username"
JOIN = ("FROM indicators JOIN feeds ON feeds.id = indicators.feed_id "
        "JOIN users ON users.id = feeds.user_id")
VISIBLE = "(feeds.private = 0 OR feeds.user_id = ?)"
ORDER = "ORDER BY indicators.effective_at DESC, indicators.id DESC"


def mapped(v4):
    return bytes(10) + b"\xff\xff" + int(v4).to_bytes(4, "big")


def address_starts(addr, stored_bits):
    """Network starts of the stored IPv4 prefix lengths (bits of the 16-byte form) and the
    address itself, padded to a power of two as feedgate does."""
    a = int(addr)
    starts = []
    for bits in sorted(set(b for b in stored_bits if b >= 104) | {128}):
        plen = bits - 96
        s = a & ((0xFFFFFFFF << (32 - plen)) & 0xFFFFFFFF)
        if mapped(s) not in starts:
            starts.append(mapped(s))
    n = 1
    while n < len(starts):
        n *= 2
    starts += [starts[-1]] * (n - len(starts))
    return starts


def host_range(name):
    rev = ".".join(reversed(name.lower().rstrip(".").split("."))).encode() + b"."
    return rev, rev[:-1] + b"/"


class Floor:
    def __init__(self, path):
        self.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, cached_statements=256)
        self.db.execute("PRAGMA cache_size = -2048")
        self.viewer = self.db.execute("SELECT id FROM users WHERE username = 'reader'").fetchone()
        self.viewer = self.viewer[0] if self.viewer else -1
        self.has_prefixes = self.db.execute(
            "SELECT 1 FROM sqlite_master WHERE name = 'ip_prefixes'").fetchone() is not None
        self.stored = [b for (b,) in self.db.execute("SELECT bits FROM ip_prefixes")] \
            if self.has_prefixes else list(range(104, 129))

    def rows(self, sql, args):
        return self.db.execute(sql, args).fetchall()

    # Per request shape: `prepare_*` turns a query value into bound values (Python work, not
    # timed), the method of the shape's name runs every statement the request runs.
    def prepare_address(self, q):
        addr = ipaddress.IPv4Address(q)
        starts = address_starts(addr, self.stored)
        sql = (f"SELECT {HIT_COLS} {JOIN} WHERE indicators.ip_lo IN "
               f"({', '.join('?' * len(starts))}) AND indicators.ip_hi >= ? AND {VISIBLE} "
               f"{ORDER} LIMIT {ROWS}")
        return sql, starts + [mapped(addr), self.viewer]

    def address(self, prepared):
        # feedgate reads the stored lengths on every address search (another gateway may have
        # stored a new one); the starts were computed from the same list in `prepare_address`.
        if self.has_prefixes:
            self.rows("SELECT bits FROM ip_prefixes ORDER BY bits", ())
        sql, args = prepared
        return self.rows(sql, args)

    def by_ids(self, ids):
        if not ids:
            return []
        n = 32
        while n < len(ids):
            n *= 2
        ids = ids + [ids[-1]] * (n - len(ids))
        sql = (f"SELECT {HIT_COLS} {JOIN} WHERE indicators.id IN ({', '.join('?' * n)}) "
               f"{ORDER}")
        return self.rows(sql, ids)

    def host(self, q):
        lo, hi = q
        ids = [i for (i,) in self.rows(
            f"SELECT indicators.id {JOIN} WHERE indicators.host_rev >= ? AND "
            f"indicators.host_rev < ? AND {VISIBLE} {ORDER} LIMIT {ROWS}", (lo, hi, self.viewer))]
        return self.by_ids(ids[:26])

    @staticmethod
    def prepare_network(q):
        net = ipaddress.IPv4Network(q)
        return mapped(net.network_address), mapped(net.broadcast_address)

    def network(self, q):
        lo, hi = q
        ids = [i for (i,) in self.rows(
            f"SELECT indicators.id {JOIN} WHERE indicators.ip_lo >= ? AND indicators.ip_lo <= ? "
            f"AND indicators.ip_hi <= ? AND {VISIBLE} {ORDER} LIMIT {ROWS}",
            (lo, hi, hi, self.viewer))]
        return self.by_ids(ids[:26])

    def page(self, key):
        feed = self.rows("SELECT feeds.id, feeds.user_id, feeds.name, feeds.private, "
                         "users.username FROM feeds JOIN users ON users.id = feeds.user_id "
                         "WHERE users.username = ? AND feeds.name = ?", ("bench00", "big"))[0]
        if key is None:
            return self.rows(f"SELECT {INDICATOR_COLS} FROM indicators WHERE feed_id = ? "
                             f"ORDER BY effective_at DESC, id DESC LIMIT {PAGE_ROWS}",
                             (feed[0],))[:101]
        return self.rows(f"SELECT {INDICATOR_COLS} FROM indicators WHERE feed_id = ? AND "
                         f"(effective_at, id) < (?, ?) ORDER BY effective_at DESC, id DESC "
                         f"LIMIT {PAGE_ROWS}", (feed[0], key[0], key[1]))[:101]

    def deep_key(self):
        return self.rows("SELECT effective_at, id FROM indicators WHERE feed_id = "
                         "(SELECT feeds.id FROM feeds JOIN users ON users.id = feeds.user_id "
                         "WHERE username = 'bench00' AND name = 'big') "
                         "ORDER BY effective_at DESC, id DESC LIMIT 1 OFFSET 9999", ())[0]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--db", required=True, help="a copy of the benchmark's SQLite database")
    p.add_argument("--passes", type=int, default=3)
    p.add_argument("--total", type=int, default=1_000_000)
    opts = p.parse_args()
    layout = datagen.Layout(opts.total, 20, 200, 250_000)
    f = Floor(opts.db)
    deep = f.deep_key()
    scenarios = [
        ("3a", "exact search ipv4", f.address,
         [f.prepare_address(q) for q in datagen.queries(layout, "ipv4", 2000)]),
        ("3b", "exact search fqdn", f.host,
         [host_range(q) for q in datagen.queries(layout, "fqdn", 2000)]),
        ("4a", "CIDR /16", f.network, [f.prepare_network(q) for q in datagen.cidr16_queries()]),
        ("4b", "CIDR /24", f.network,
         [f.prepare_network(q) for q in datagen.cidr24_queries(layout, 2000)]),
        ("4c", "domain suffix", f.host, [host_range(q) for q in datagen.suffix_queries(2000)]),
        ("5a", "feed page, first", f.page, [None] * 500),
        ("5b", "feed page, 10,000 deep", f.page, [deep] * 500),
    ]
    print(f"database {opts.db}; sqlite {sqlite3.sqlite_version}; stored prefix bits {f.stored}")
    print("| # | scenario | rows per request | SQLite CPU per request, µs (best / median of passes) |")
    print("|---|---|---:|---:|")
    for sid, name, fn, qs in scenarios:
        rows = sum(len(fn(q)) for q in qs) / len(qs)  # untimed pass: fills the page cache
        per = []
        for _ in range(opts.passes):
            t = time.process_time()
            for q in qs:
                fn(q)
            per.append((time.process_time() - t) / len(qs) * 1e6)
        per.sort()
        print(f"| {sid} | {name} | {rows:.1f} | {per[0]:.0f} / {per[len(per) // 2]:.0f} |")
    t = time.process_time()
    for _ in range(20000):
        f.rows("SELECT 1", ())
    print(f"Python's own cost per statement (SELECT 1): "
          f"{(time.process_time() - t) / 20000 * 1e6:.1f} µs, included above")
    print()
    print("Plans (EXPLAIN QUERY PLAN of the first statement of 3a, 4a and 5b):")
    q = datagen.queries(layout, "ipv4", 1)[0]
    starts = address_starts(ipaddress.IPv4Address(q), f.stored)
    for sql, args in (
        (f"SELECT {HIT_COLS} {JOIN} WHERE indicators.ip_lo IN ({', '.join('?' * len(starts))}) "
         f"AND indicators.ip_hi >= ? AND {VISIBLE} {ORDER} LIMIT {ROWS}",
         starts + [mapped(ipaddress.IPv4Address(q)), f.viewer]),
        (f"SELECT indicators.id {JOIN} WHERE indicators.ip_lo >= ? AND indicators.ip_lo <= ? "
         f"AND indicators.ip_hi <= ? AND {VISIBLE} {ORDER} LIMIT {ROWS}",
         (bytes(16), b"\xff" * 16, b"\xff" * 16, f.viewer)),
        (f"SELECT {INDICATOR_COLS} FROM indicators WHERE feed_id = ? AND (effective_at, id) < "
         f"(?, ?) ORDER BY effective_at DESC, id DESC LIMIT {PAGE_ROWS}", (1, deep[0], deep[1])),
    ):
        plan = [r[3] for r in f.db.execute("EXPLAIN QUERY PLAN " + sql, args)]
        print("  " + "; ".join(plan))


if __name__ == "__main__":
    main()
