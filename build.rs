//! Sets `cfg(pg_tests)` when `TEST_DATABASE_URL` is set, so the PostgreSQL half of every
//! integration test runs in CI and is reported as ignored (with the reason) elsewhere.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(pg_tests)");
    println!("cargo::rerun-if-env-changed=TEST_DATABASE_URL");
    if std::env::var_os("TEST_DATABASE_URL").is_some_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=pg_tests");
    }
}
