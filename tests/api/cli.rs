//! The binary itself: first start and restart, graceful shutdown, start-up errors, and the user
//! and token commands.

use crate::helpers::*;

both_databases! {
    fn a_restart_keeps_data_and_does_not_bootstrap_again(db) {
        let first = Server::start(&db.url);
        assert!(first.startup_stderr.contains("Created the first user 'admin'"), "{}", first.startup_stderr);
        let token = first.startup_stderr.split_whitespace().find(|w| w.starts_with("fg_") && w.len() == 46).unwrap().to_string();
        assert!(first.startup_stderr.contains(&format!("curl -H 'Authorization: Token token={token}'")));
        let url = format!("http://127.0.0.1:{}/api/users/admin", first.port);
        let auth = format!("Token token={token}");
        http_get(&url, &[("Authorization", &auth)]).assert_status(200);
        assert_eq!(first.terminate(), Some(0), "SIGTERM is a clean shutdown");

        let second = Server::start(&db.url);
        assert!(!second.startup_stderr.contains("fg_"), "no second bootstrap: {}", second.startup_stderr);
        let url = format!("http://127.0.0.1:{}/api/users/admin", second.port);
        let body = http_get(&url, &[("Authorization", &auth)]).assert_status(200).json();
        assert_eq!(body["role"], "admin", "the first token still works after a restart");
        assert_eq!(second.terminate(), Some(0));
    }

    fn the_token_commands_manage_tokens(db) {
        let (code, token, err) = Binary::run(&db.url, &["user", "add", "Dave"], None);
        assert_eq!(code, 0, "{err}");
        assert!(token.trim().starts_with("fg_"));
        let (code, _, err) = Binary::run(&db.url, &["user", "add", "dave"], None);
        assert_ne!(code, 0);
        assert!(err.contains("already exists"), "{err}");
        let (code, second, err) = Binary::run(&db.url, &["token", "create", "--user", "dave", "--read-only", "--expires", "30", "--name", "ci"], None);
        assert_eq!(code, 0, "{err}");
        let (_, listing, _) = Binary::run(&db.url, &["token", "list", "--user", "dave"], None);
        assert!(listing.contains(&second.trim()[..11]) && listing.contains(" read "), "{listing}");
        assert!(!listing.contains(second.trim()), "a listing never shows the token");
        let id = err.split_whitespace().nth(2).unwrap();
        let (code, _, err) = Binary::run(&db.url, &["token", "revoke", id], None);
        assert_eq!(code, 0, "{err}");
        let (_, listing, _) = Binary::run(&db.url, &["token", "list", "--user", "dave"], None);
        assert!(!listing.contains(&second.trim()[..11]), "{listing}");
        let (code, _, err) = Binary::run(&db.url, &["token", "revoke", id], None);
        assert_ne!(code, 0);
        assert!(err.contains("no unrevoked token"), "{err}");
        let (code, _, err) = Binary::run(&db.url, &["token", "list", "--user", "nobody"], None);
        assert_ne!(code, 0);
        assert!(err.contains("no such user"), "{err}");
    }
}

fn assert_one_line_failure(url: &str, expected: &str) {
    let (code, _, err) = Binary::run(url, &["serve", "--bind", "127.0.0.1:0"], None);
    assert_ne!(code, 0, "{err}");
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("feedgate: error:") && last.contains(expected),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn an_unknown_scheme_is_refused() {
    assert_one_line_failure(
        "mysql://app:s3cret@localhost/fg",
        "unsupported database URL scheme",
    );
    let (_, _, err) = Binary::run("mysql://app:s3cret@localhost/fg", &["serve"], None);
    assert!(
        !err.contains("s3cret"),
        "the password is never printed: {err}"
    );
}

#[test]
fn an_unreachable_postgres_is_refused() {
    assert_one_line_failure(
        "postgres://fg:s3cret@127.0.0.1:1/fg",
        "cannot connect to PostgreSQL at postgres://127.0.0.1:1/fg",
    );
    let (_, _, err) = Binary::run("postgres://fg:s3cret@127.0.0.1:1/fg", &["serve"], None);
    assert!(!err.contains("s3cret"), "{err}");
}

#[test]
fn an_unwritable_sqlite_path_is_refused_without_stray_files() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no/such/dir/fg.db");
    assert_one_line_failure(
        &format!("sqlite://{}", missing.display()),
        "cannot open SQLite database",
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing was created"
    );
    let file = dir.path().join("a-file");
    std::fs::write(&file, "not a directory").unwrap();
    assert_one_line_failure(
        &format!("sqlite://{}/fg.db", file.display()),
        "cannot open SQLite database",
    );
}

#[test]
fn a_file_that_is_not_a_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("junk.db");
    std::fs::write(&path, vec![b'x'; 4096]).unwrap();
    assert_one_line_failure(&format!("sqlite://{}", path.display()), "");
}

#[test]
fn a_busy_port_is_refused() {
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = holder.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("fg.db").display());
    let (code, _, err) = Binary::run(
        &url,
        &["serve", "--bind", &format!("127.0.0.1:{port}")],
        None,
    );
    assert_ne!(code, 0);
    assert!(
        err.lines().last().unwrap().contains("cannot listen on"),
        "{err}"
    );
}
