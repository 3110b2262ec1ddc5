//! The contract test: every route the server registers is documented in
//! `openapi/openapi.yaml` with its handler name as `operationId`, and the file names no route
//! the server lacks.

use std::collections::BTreeSet;

use yaml_rust2::YamlLoader;

#[test]
fn openapi_documents_exactly_the_registered_routes() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.yaml"))
            .unwrap();
    let docs = YamlLoader::load_from_str(&text).unwrap();
    let paths = docs[0]["paths"].as_hash().expect("paths");
    let mut documented = BTreeSet::new();
    for (path, item) in paths {
        let path = path.as_str().unwrap();
        for (method, op) in item.as_hash().unwrap() {
            let method = method.as_str().unwrap();
            if ["parameters", "summary", "description"].contains(&method) {
                continue;
            }
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path} has no operationId"));
            documented.insert((method.to_uppercase(), path.to_string(), id.to_string()));
        }
    }
    let registered: BTreeSet<(String, String, String)> = feedgate::api::ROUTES
        .iter()
        .chain(feedgate::web::ROUTES)
        .map(|(m, p, id)| (m.to_string(), p.to_string(), id.to_string()))
        .collect();
    let missing: Vec<_> = registered.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&registered).collect();
    assert!(
        missing.is_empty(),
        "routes missing from openapi.yaml: {missing:?}"
    );
    assert!(
        extra.is_empty(),
        "openapi.yaml names routes the server lacks: {extra:?}"
    );
}

#[test]
fn every_error_code_of_the_server_is_listed() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.yaml"))
            .unwrap();
    // A whole word: `conflict` inside `conflicting_credentials` does not count.
    let listed = |code: &str| {
        let word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        text.match_indices(code).any(|(at, _)| {
            !word(text[..at].chars().next_back()) && !word(text[at + code.len()..].chars().next())
        })
    };
    for code in feedgate::error::ApiError::all_codes() {
        assert!(listed(code), "openapi.yaml does not list error code {code}");
    }
}
