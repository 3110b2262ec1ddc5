//! Spooling (spec `shadowserver.md` §2.1, §1.3): stdin, HTTP bodies and downloads are written
//! to an anonymous temporary file while their SHA-256 is computed, never collected in memory,
//! and refused past a byte limit. The file has no name on disk (it is unlinked at once), so it
//! disappears on every exit path, a crash included.

use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};

use sha2::{Digest, Sha256};

use crate::domain::hex::hex;

/// A spooled input: the temporary file (positioned at its start), its SHA-256 and size.
#[derive(Debug)]
pub struct Spooled {
    /// The temporary file, read from the start.
    pub file: File,
    /// Lower-case hex SHA-256 of its bytes.
    pub sha256: String,
    /// Its size in bytes.
    pub len: u64,
}

/// Why an input could not be spooled.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    /// More than the limit arrived (HTTP 413).
    #[error("the input is larger than {limit} bytes")]
    TooLarge {
        /// The limit that was passed.
        limit: u64,
    },
    /// gzip content that cannot be decoded.
    #[error("the gzip content cannot be decoded: {0}")]
    BadGzip(String),
    /// Reading the input or writing the temporary file failed.
    #[error("cannot spool the input: {0}")]
    Io(#[from] io::Error),
}

/// A temporary file being written, chunk by chunk.
pub struct Spool {
    out: BufWriter<File>,
    hasher: Sha256,
    len: u64,
    limit: u64,
}

impl Spool {
    /// A new, empty spool refusing more than `limit` bytes.
    pub fn new(limit: u64) -> io::Result<Self> {
        Ok(Spool {
            out: BufWriter::with_capacity(256 << 10, tempfile::tempfile()?),
            hasher: Sha256::new(),
            len: 0,
            limit,
        })
    }

    /// Appends a chunk; past the limit nothing more is written.
    pub fn write(&mut self, chunk: &[u8]) -> Result<(), SpoolError> {
        self.len += chunk.len() as u64;
        if self.len > self.limit {
            return Err(SpoolError::TooLarge { limit: self.limit });
        }
        self.hasher.update(chunk);
        self.out.write_all(chunk)?;
        Ok(())
    }

    /// The bytes written so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Flushes and rewinds the file.
    pub fn finish(self) -> Result<Spooled, SpoolError> {
        let mut file = self.out.into_inner().map_err(|e| e.into_error())?;
        file.seek(SeekFrom::Start(0))?;
        Ok(Spooled {
            file,
            sha256: hex(&self.hasher.finalize()),
            len: self.len,
        })
    }
}

/// Spools a whole reader (stdin, a download).
pub fn spool_reader(mut input: impl Read, limit: u64) -> Result<Spooled, SpoolError> {
    let mut spool = Spool::new(limit)?;
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        spool.write(&buf[..n])?;
    }
    spool.finish()
}

/// Decodes a spooled gzip body (`Content-Encoding: gzip`) into a new spool, refusing more than
/// `limit` decoded bytes.
pub fn gunzip(compressed: Spooled, limit: u64) -> Result<Spooled, SpoolError> {
    let decoder = flate2::read::MultiGzDecoder::new(io::BufReader::new(compressed.file));
    match spool_reader(decoder, limit) {
        Err(SpoolError::Io(e))
            if matches!(
                e.kind(),
                io::ErrorKind::InvalidData
                    | io::ErrorKind::InvalidInput
                    | io::ErrorKind::UnexpectedEof
            ) =>
        {
            Err(SpoolError::BadGzip(e.to_string()))
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spool_hashes_and_rewinds() {
        let mut s = spool_reader(&b"abc"[..], 10).unwrap();
        assert_eq!(
            s.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(s.len, 3);
        let mut back = String::new();
        s.file.read_to_string(&mut back).unwrap();
        assert_eq!(back, "abc");
    }

    #[test]
    fn a_spool_refuses_more_than_its_limit() {
        assert!(matches!(
            spool_reader(&[0u8; 11][..], 10),
            Err(SpoolError::TooLarge { limit: 10 })
        ));
        assert!(spool_reader(&[0u8; 10][..], 10).is_ok());
    }

    #[test]
    fn gzip_is_decoded_within_its_limit() {
        use flate2::Compression;
        use flate2::write::GzEncoder;
        let mut enc = GzEncoder::new(Vec::new(), Compression::default());
        enc.write_all(&[b'a'; 1000]).unwrap();
        let gz = enc.finish().unwrap();
        let spooled = spool_reader(&gz[..], 1 << 20).unwrap();
        let plain = gunzip(spooled, 1000).unwrap();
        assert_eq!(plain.len, 1000);
        let spooled = spool_reader(&gz[..], 1 << 20).unwrap();
        assert!(matches!(
            gunzip(spooled, 999),
            Err(SpoolError::TooLarge { .. })
        ));
        let junk = spool_reader(&b"\x1f\x8bnot gzip at all"[..], 100).unwrap();
        assert!(matches!(gunzip(junk, 100), Err(SpoolError::BadGzip(_))));
    }
}
