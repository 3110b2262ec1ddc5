//! Loading MISP warninglists from a directory (`--warninglists DIR`): every `*.json` file
//! under it, in path order, as one source each of a [`Whitelist`]. The layout of the
//! misp-warninglists repository (`lists/<name>/list.json`) and of the `pymispwarninglists`
//! package both work, as does a flat directory of lists.

use std::path::{Path, PathBuf};

use crate::domain::whitelist::{Builder, ListError, Whitelist, parse_warninglist};

/// Why the warninglists could not be loaded: the file, and where in it.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a MISP warninglist: {source}")]
    List { path: PathBuf, source: ListError },
    #[error("{path}: {source}")]
    Build {
        path: PathBuf,
        source: crate::domain::whitelist::BadEntry,
    },
}

/// What was loaded, for the startup log.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Loaded {
    pub lists: usize,
    pub entries: usize,
    /// Entries that were not valid for their list's type, skipped as MISP skips them.
    pub skipped: usize,
}

/// Loads every list under `dir` into `builder`.
pub fn load_into(builder: &mut Builder, dir: &Path) -> Result<Loaded, LoadError> {
    // The repository's root also holds `schema.json`, which is no list.
    let lists = dir.join("lists");
    let dir = if lists.is_dir() { &lists } else { dir };
    let mut files = Vec::new();
    collect(dir, &mut files)?;
    files.sort();
    let mut loaded = Loaded::default();
    for path in files {
        let text = std::fs::read_to_string(&path).map_err(|source| LoadError::Io {
            path: path.clone(),
            source,
        })?;
        let list = parse_warninglist(&text).map_err(|source| LoadError::List {
            path: path.clone(),
            source,
        })?;
        loaded.lists += 1;
        loaded.entries += list.entries.len();
        loaded.skipped += builder.add_warninglist(&list);
    }
    Ok(loaded)
}

/// Loads every list under `dir` on its own.
pub fn load(dir: &Path) -> Result<(Whitelist, Loaded), LoadError> {
    let mut builder = Builder::new();
    let loaded = load_into(&mut builder, dir)?;
    let list = builder.build().map_err(|source| LoadError::Build {
        path: dir.to_owned(),
        source,
    })?;
    Ok((list, loaded))
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), LoadError> {
    let io = |source| LoadError::Io {
        path: dir.to_owned(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.is_dir() {
            collect(&path, files)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            files.push(path);
        }
    }
    Ok(())
}
