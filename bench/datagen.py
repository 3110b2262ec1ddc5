"""Deterministic data for the feedgate benchmark (Python 3 standard library only).

The same seed and layout always give the same indicator values, so runs on different days and
backends store the same data and search for the same things. Values are spread so that searches
return realistic result sizes:

- IPv4 addresses from a pool of 400,000, spread over 256 /16 blocks (about 1,560 distinct
  addresses per /16, 6 per /24); an address appears in about one feed in five.
- /24 networks from the same blocks (so an address search also meets enclosing networks).
- fqdns from a pool of 300,000 host names under 3,000 registered domains (100 hosts each); urls
  and e-mail addresses use those hosts and domains, so a domain-suffix search meets fqdns, urls
  and e-mails (about 150 indicators per registered domain at the full size).
- sha256 hashes, unique.

Within one feed every value is distinct (a bulk of repeated values would upsert instead of
create), so the stored count is exactly the planned count.

Also generates the 200,000-row Shadowserver-shaped CSV files of shared/spec/shadowserver.md §6.3.
"""

import csv
import hashlib
import io
import json
import random

SEED = 20261124

IP_POOL = 400_000
CIDR_POOL = 65_536
REGISTERED = 3_000
HOSTS_PER_DOMAIN = 100
FQDN_POOL = REGISTERED * HOSTS_PER_DOMAIN

# Item kinds by position in a cycle of 20: 45 % ipv4, 5 % /24, 20 % fqdn, 15 % url, 10 % email,
# 5 % sha256.
CYCLE = (["ipv4"] * 9) + ["cidr"] + (["fqdn"] * 4) + (["url"] * 3) + (["email"] * 2) + ["sha256"]
SLOTS = {kind: [i for i, k in enumerate(CYCLE) if k == kind] for kind in set(CYCLE)}

TLDS = ["com", "net", "org", "info", "ru", "cn", "io", "xyz", "top", "biz"]
SYLLABLES = ["ka", "lo", "mi", "ne", "ro", "su", "ta", "vi", "ze", "bo", "cu", "da", "fe", "gi",
             "ha", "ju", "pe", "qu", "ri", "so", "tu", "wa", "xo", "yu"]
HOST_LABELS = ["www", "mail", "login", "secure", "cdn", "api", "update", "portal", "m", "shop"]
PATHS = ["account/update", "login.php", "wp-admin/x.php", "invoice", "dl/payload.exe",
         "verify", "signin", "paypal/confirm", "office365", "bank/secure"]
TAGS = {
    "ipv4": [["scanner", "ssh"], ["bruteforce"], ["scanner", "http"], ["botnet"], ["spam"]],
    "cidr": [["hijacked"], ["bulletproof"], ["spam"]],
    "fqdn": [["phishing"], ["malware"], ["c2"], ["suspicious"]],
    "url": [["phishing"], ["malware", "exploit"], ["phishing", "banking"]],
    "email": [["spam"], ["phishing"], ["scam"]],
    "sha256": [["malware"], ["ransomware"], ["trojan"]],
}
PORTS = ["22", "23", "80", "443", "3389", "445", "25", "8080"]

_rng = random.Random(SEED)


def _excluded(a):
    # Leave room for the scenario-1/2 writes (11/8 bulk, 100/8 single create) and special ranges.
    return a in (0, 10, 11, 100, 127, 169, 172, 192, 198, 203) or a >= 224 or a < 20


BLOCKS = []
_seen = set()
while len(BLOCKS) < 256:
    a = _rng.randint(20, 223)
    b = _rng.randint(0, 255)
    if _excluded(a) or (a, b) in _seen:
        continue
    _seen.add((a, b))
    BLOCKS.append((a, b))

DOMAINS = []
for _d in range(REGISTERED):
    name = "".join(_rng.choice(SYLLABLES) for _ in range(3)) + str(_d)
    DOMAINS.append(name + "." + TLDS[_d % len(TLDS)])


def ipv4(key):
    """The IPv4 address of pool key `key` (0 <= key < IP_POOL)."""
    a, b = BLOCKS[key % 256]
    low = ((key // 256) * 40503 + 12345) & 0xFFFF  # odd multiplier: a permutation of 0..65535
    return f"{a}.{b}.{low >> 8}.{low & 0xFF}"


def cidr24(key):
    """The /24 network of pool key `key` (0 <= key < CIDR_POOL)."""
    a, b = BLOCKS[key % 256]
    c = ((key // 256) * 167 + 7) & 0xFF
    return f"{a}.{b}.{c}.0/24"


def fqdn(key):
    """The host name of pool key `key` (0 <= key < FQDN_POOL)."""
    domain = DOMAINS[key % REGISTERED]
    sub = key // REGISTERED
    label = HOST_LABELS[sub % len(HOST_LABELS)]
    return f"{label}{sub // len(HOST_LABELS)}.{domain}" if sub >= len(HOST_LABELS) else f"{label}.{domain}"


def _spread(idx, pool, feed, mult):
    """Pool key for the idx-th value of a kind in a feed: distinct for idx < pool."""
    return (idx * mult + feed * 7919) % pool


def value(feed, i):
    """The (kind, value) of item `i` of feed number `feed` (global feed index)."""
    kind = CYCLE[i % 20]
    slots = SLOTS[kind]
    idx = (i // 20) * len(slots) + slots.index(i % 20)
    if kind == "ipv4":
        return kind, ipv4(_spread(idx, IP_POOL, feed, 104_729))  # prime, coprime with the pool
    if kind == "cidr":
        return kind, cidr24(_spread(idx, CIDR_POOL, feed, 40_503))
    if kind == "fqdn":
        return kind, fqdn(_spread(idx, FQDN_POOL, feed, 7_919 * 13))
    if kind == "url":
        host = fqdn(_spread(idx, FQDN_POOL, feed, 7_907))
        scheme = "https" if idx % 3 else "http"
        return kind, f"{scheme}://{host}/{PATHS[idx % len(PATHS)]}/{feed}-{idx}"
    if kind == "email":
        domain = DOMAINS[_spread(idx, REGISTERED, feed, 7)]
        return kind, f"user{feed}x{idx}@{domain}"
    digest = hashlib.sha256(f"{SEED}:{feed}:{idx}".encode()).hexdigest()
    return kind, digest


def item(feed, i, base_epoch):
    """One bulk item (the flat shape of the old SDK) for item `i` of feed `feed`."""
    kind, val = value(feed, i)
    # Sightings over the 30 days before base_epoch; deterministic per (feed, i).
    age = (i * 7919 + feed * 104_729) % (30 * 86_400)
    last = base_epoch - age
    out = {
        "indicator": val,
        "tags": TAGS[kind][(i + feed) % len(TAGS[kind])],
        "lasttime": _iso(last),
        "description": f"bench {kind} {feed}",
        "provider": f"sensor-{feed % 7}",
    }
    if kind == "ipv4":
        out["portlist"] = PORTS[i % len(PORTS)]
        out["protocol"] = "tcp"
        out["firsttime"] = _iso(last - (i % 5) * 3_600)
    return out


def batch_body(feed, start, stop, base_epoch):
    """The JSON body of one indicators_bulk request."""
    return json.dumps({"indicators": [item(feed, i, base_epoch) for i in range(start, stop)]},
                      separators=(",", ":")).encode()


def _iso(epoch):
    import time
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


class Layout:
    """Users, feeds and how many indicators each feed gets.

    Feed 0 (user 0's `big`) holds `big` indicators; the rest share the remainder evenly.
    """

    def __init__(self, total, users, feeds, big):
        assert feeds % users == 0 and feeds >= users and big <= total
        self.total, self.users, self.feeds, self.big = total, users, feeds, big
        per_user = feeds // users
        rest = total - big
        others = feeds - 1
        self.plan = []  # (global feed index, user index, feed name, count)
        for f in range(feeds):
            u, k = divmod(f, per_user)
            name = "big" if f == 0 else f"feed{k:02d}"
            if f == 0:
                n = big
            else:
                n = rest // others + (1 if (f - 1) < rest % others else 0)
            self.plan.append((f, u, name, n))

    @staticmethod
    def user_name(u):
        return f"bench{u:02d}"

    def feed_count(self, f):
        return self.plan[f][3]


def queries(layout, kind, n):
    """Up to `n` distinct stored values of `kind`, taken across the feeds (deterministic)."""
    out, seen = [], set()
    i = 0
    while len(out) < n and i < 100_000:
        for f, _, _, count in layout.plan:
            if i < count:
                k, v = value(f, i)
                if k == kind and v not in seen:
                    seen.add(v)
                    out.append(v)
        i += 1
    return out[:n]


def cidr16_queries():
    """One /16 query per block."""
    return [f"{a}.{b}.0.0/16" for a, b in BLOCKS]


def cidr24_queries(layout, n):
    """/24 networks around stored addresses."""
    return [ip.rsplit(".", 1)[0] + ".0/24" for ip in queries(layout, "ipv4", n)]


def suffix_queries(n):
    """Registered domains (each has hosts, urls and e-mails below it)."""
    return DOMAINS[:n]


# --- Shadowserver-shaped files (shadowserver.md §6.3) -------------------------------------------

def shadowserver_csv(sample_path, rows, out_path):
    """Cycles the rows of a sample report, giving each row a unique IPv4 address (sequential
    from 10.0.0.0) and the timestamp 2024-01-01 00:00:00 plus the row number in seconds; every
    value quoted. Returns the size in bytes."""
    import datetime
    with open(sample_path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        samples = [r for r in reader if r]
    ts_col = header.index("timestamp")
    ip_col = header.index("ip")
    start = datetime.datetime(2024, 1, 1)
    with open(out_path, "w", newline="", encoding="utf-8") as out:
        w = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
        w.writerow(header)
        buf = io.StringIO()
        bw = csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
        for n in range(rows):
            row = list(samples[n % len(samples)])
            row += [""] * (len(header) - len(row))
            addr = (10 << 24) + n
            row[ip_col] = f"{addr >> 24}.{(addr >> 16) & 255}.{(addr >> 8) & 255}.{addr & 255}"
            row[ts_col] = (start + datetime.timedelta(seconds=n)).strftime("%Y-%m-%d %H:%M:%S")
            bw.writerow(row)
            if n % 5000 == 4999:
                out.write(buf.getvalue())
                buf.seek(0)
                buf.truncate()
        out.write(buf.getvalue())
        return out.tell()
