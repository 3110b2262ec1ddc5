//! Passwords: argon2id with the crate's defaults, stored as PHC strings. Verification of an
//! unknown user runs against a fixed dummy hash so it takes as long as a wrong password.
//!
//! The server verifies on a few threads of its own ([`Verifier`]), never on a database
//! thread and never inside a transaction: a verification holds 19 MiB and tens of milliseconds
//! of CPU, so anyone who can send guesses could otherwise stall writers and grow every
//! blocking thread's heap. The threads are as many as the CPUs and the queue in front of them
//! is short; a guess that finds it full is refused at once ([`Busy`]).

use std::fmt;

use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, OnceLock};

use argon2::password_hash::phc::Output;
use argon2::{
    Algorithm, Argon2, Block, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version,
};

/// A plaintext password that never prints.
pub struct Password(String);

impl Password {
    /// Accepts 12–1,024 characters (spec §10).
    pub fn parse(raw: String) -> Result<Self, &'static str> {
        let n = raw.chars().count();
        if !(12..=1024).contains(&n) {
            return Err("password must be 12 to 1024 characters");
        }
        Ok(Self(raw))
    }

    /// The argon2id PHC string to store.
    pub fn hash(&self) -> anyhow::Result<String> {
        hash_text(&self.0)
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

fn hash_text(plain: &str) -> anyhow::Result<String> {
    let phc = Argon2::default()
        .hash_password(plain.as_bytes())
        .map_err(|e| anyhow::anyhow!("argon2: {e}"))?;
    Ok(phc.to_string())
}

/// A hash of a password no one knows, checked when the user has none, so that answer takes as
/// long as a wrong password.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_text("feedgate dummy password, never valid").unwrap_or_default())
}

/// Checks `candidate` against a stored PHC string, or against the dummy hash when there is none.
pub fn verify(stored: Option<&str>, candidate: &str) -> bool {
    let phc: &str = match stored {
        Some(s) => s,
        None => dummy_hash(),
    };
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let ok = Argon2::default()
        .verify_password(candidate.as_bytes(), &parsed)
        .is_ok();
    ok && stored.is_some()
}

/// [`verify`] with the caller's working memory (grown to what the stored hash's parameters
/// need and kept for the next check).
fn verify_in(memory: &mut Vec<Block>, stored: Option<&str>, candidate: &str) -> bool {
    let phc: &str = stored.unwrap_or_else(|| dummy_hash());
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let matches = (|| {
        let algorithm = Algorithm::try_from(parsed.algorithm.as_str()).ok()?;
        let version = match parsed.version {
            Some(v) => Version::try_from(v).ok()?,
            None => Version::default(),
        };
        let params = Params::try_from(&parsed).ok()?;
        let (salt, expected) = (parsed.salt.as_ref()?, parsed.hash.as_ref()?);
        if memory.len() < params.block_count() {
            memory.resize(params.block_count(), Block::default());
        }
        let mut out = vec![0u8; expected.len()];
        Argon2::new(algorithm, version, params)
            .hash_password_into_with_memory(candidate.as_bytes(), salt, &mut out, &mut memory[..])
            .ok()?;
        // `Output`'s equality is constant-time.
        Some(Output::new(&out).ok()? == *expected)
    })();
    matches == Some(true) && stored.is_some()
}

/// Every verification thread is busy and the queue in front of them is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many password checks at once")]
pub struct Busy;

/// One queued verification and where its answer goes.
struct Job {
    stored: Option<String>,
    candidate: String,
    answer: tokio::sync::oneshot::Sender<bool>,
}

/// Waiting verifications per verification thread, beyond the one it runs.
const QUEUE_PER_THREAD: usize = 4;

/// The verification threads and the short queue in front of them; one per server. The
/// threads end when it is dropped.
pub struct Verifier {
    queue: Option<SyncSender<Job>>,
}

impl Verifier {
    /// Starts `threads` verification threads (at least one) behind a queue of
    /// [`QUEUE_PER_THREAD`] checks each.
    pub fn start(threads: usize) -> Verifier {
        let threads = threads.max(1);
        let (tx, rx) = sync_channel::<Job>(threads * QUEUE_PER_THREAD);
        let rx = Arc::new(Mutex::new(rx));
        let mut started = 0;
        for i in 0..threads {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("feedgate-argon2-{i}"))
                .spawn(move || verify_loop(&rx));
            started += usize::from(spawned.is_ok());
        }
        Verifier {
            queue: (started > 0).then_some(tx),
        }
    }

    /// [`verify`] on the verification threads: waits for the answer, or fails at once with
    /// [`Busy`] when the queue is full (or no thread could be started).
    pub async fn verify(&self, stored: Option<String>, candidate: String) -> Result<bool, Busy> {
        let queue = self.queue.as_ref().ok_or(Busy)?;
        let (answer, rx) = tokio::sync::oneshot::channel();
        let job = Job {
            stored,
            candidate,
            answer,
        };
        match queue.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => return Err(Busy),
        }
        rx.await.map_err(|_| Busy)
    }
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Verifier")
    }
}

fn verify_loop(rx: &Mutex<Receiver<Job>>) {
    // Each thread keeps the argon2 working memory it last needed: allocating ~19 MiB for
    // every check and freeing it fragmented the heap (the process grew ~19 MiB a check).
    let mut memory: Vec<Block> = Vec::new();
    loop {
        let job = {
            let guard = rx.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            match guard.recv() {
                Ok(job) => job,
                Err(_) => return,
            }
        };
        let ok = verify_in(&mut memory, job.stored.as_deref(), &job.candidate);
        // The request may have gone away meanwhile; nobody else wants the answer.
        let _ = job.answer.send(ok);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hashed_password_verifies_and_others_do_not() {
        let pw = Password::parse("correct horse battery".into()).unwrap();
        let phc = pw.hash().unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify(Some(&phc), "correct horse battery"));
        assert!(!verify(Some(&phc), "wrong horse battery"));
        assert!(!verify(None, "correct horse battery"));
        let mut memory = Vec::new();
        assert!(verify_in(&mut memory, Some(&phc), "correct horse battery"));
        assert!(!memory.is_empty());
        assert!(!verify_in(&mut memory, Some(&phc), "wrong horse battery"));
        assert!(!verify_in(&mut memory, None, "correct horse battery"));
        assert!(!verify_in(&mut memory, Some("$argon2id$garbage"), "x"));
    }

    #[test]
    fn bounded_verification_answers_and_refuses_when_full() {
        let pw = Password::parse("correct horse battery".into()).unwrap();
        let phc = pw.hash().unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let verifier = Verifier::start(2);
        rt.block_on(async {
            assert_eq!(
                verifier
                    .verify(Some(phc.clone()), "correct horse battery".into())
                    .await,
                Ok(true)
            );
            assert_eq!(
                verifier.verify(Some(phc.clone()), "wrong".into()).await,
                Ok(false)
            );
            // Far more guesses at once than threads plus queue: some are refused, none wait
            // without bound, and every admitted one is answered.
            let guesses: Vec<_> = (0..64)
                .map(|_| verifier.verify(Some(phc.clone()), "wrong".into()))
                .collect();
            let answers = futures_util::future::join_all(guesses).await;
            assert!(answers.contains(&Err(Busy)));
            assert!(answers.contains(&Ok(false)));
            assert!(!answers.contains(&Ok(true)));
        });
    }

    #[test]
    fn length_rules() {
        assert!(Password::parse("short".into()).is_err());
        assert!(Password::parse("x".repeat(1025)).is_err());
        assert!(Password::parse("x".repeat(12)).is_ok());
        assert!(!format!("{:?}", Password::parse("x".repeat(12)).unwrap()).contains("xxx"));
    }
}
