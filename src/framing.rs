//! The answers actix-http's HTTP/1 dispatcher gives by itself, without calling the application,
//! get our JSON error body. It writes them with an empty body and offers no hook: 400 for a
//! request head it cannot parse, 431 for one over its limits, 408 when a connection's first head
//! is too slow, 500 in a few internal cases. Every connection is served through [`Guarded`],
//! which passes reads through and follows the responses on the write side, head by head,
//! replacing such an answer with the same status and the body [`ApiError`] renders.
//!
//! It must never rewrite a byte of a body: an attachment may hold the very bytes of such an
//! answer. So the write side keeps the responses' framing: it parses each head (`httparse`),
//! skips a `content-length` body by count, walks a chunked one chunk by chunk, and looks for the
//! dispatcher's answer only where a head starts. Whatever it cannot follow (a body that runs
//! until the connection closes, an upgrade, a head split over two writes, which actix never
//! does) makes it step aside for the rest of the connection: it then passes everything on and
//! replaces nothing, and such a connection keeps the empty answers.
//!
//! actix-http frames an answer by the request it decoded last, not by the one it answers: with
//! pipelining, a GET is sent without its body once a HEAD behind it was decoded, and after a
//! CONNECT or WebSocket upgrade request a stream goes out raw while its head says chunked. The
//! write side cannot see that; the read side can, since those words (`HEAD`, `CONNECT`,
//! `websocket`) pass through it before actix decodes them, hence before any answer framed by
//! them is written. From the first one on (anywhere in what the client sent, bodies included:
//! a false alarm only costs the JSON body), the write side steps aside.

use std::io::{self, Write as _};
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::sync::LazyLock;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use actix_web::ResponseError;
use actix_web::body::MessageBody;
use actix_web::http::StatusCode;
use memchr::memmem::Finder;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::error::ApiError;
use crate::observe;

/// How long a connection's first request head may take to arrive (the dispatcher's
/// `client_request_timeout`, set by `startup`); beyond it the answer is 408.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(5);
/// actix-http 3's limits on a request head (`h1::decoder` `MAX_BUFFER_SIZE` and `MAX_HEADERS`),
/// named in the 431's body; the integration tests check them.
pub const HEAD_MAX_BYTES: usize = 128 * 1024;
pub const HEAD_MAX_FIELDS: usize = 96;

/// Header fields a response head may have for the write side to follow it; more (ours have
/// about fifteen) and it steps aside.
const MAX_FIELDS: usize = 64;

/// A connection whose answers the HTTP layer gives by itself carry our JSON error body.
pub struct Guarded<T> {
    io: T,
    framing: Framing,
    words: Words,
    /// Our answer in place of the dispatcher's, and how much of it is written.
    out: Vec<u8>,
    sent: usize,
    /// Bytes of the dispatcher's answer that `out` stands for: accepted once `out` is written,
    /// since the dispatcher drops the connection as soon as its buffer is empty.
    owed: usize,
}

impl<T> Guarded<T> {
    /// Wraps a freshly accepted connection.
    pub fn new(io: T) -> Self {
        Self {
            io,
            framing: Framing::default(),
            words: Words::default(),
            out: Vec::new(),
            sent: 0,
            owed: 0,
        }
    }
}

impl<T: AsyncWrite + Unpin> Guarded<T> {
    /// Writes what is left of `out`.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.sent < self.out.len() {
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, &self.out[self.sent..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.sent += n;
        }
        if !self.out.is_empty() {
            self.out = Vec::new();
            self.sent = 0;
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Guarded<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.io).poll_read(cx, buf))?;
        this.words.read(&buf.filled()[before..]);
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Guarded<T> {
    /// Counts only bytes of `buf`: a short count or `Pending` leaves the rest to the caller,
    /// who offers it again (the dispatcher always does), so the framing advances by exactly
    /// what it was told was written.
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.drain(cx))?;
        if this.owed == 0 && !buf.is_empty() {
            match this.framing.next(buf, this.words.seen) {
                Step::Pass(n) => {
                    let written = ready!(Pin::new(&mut this.io).poll_write(cx, &buf[..n]))?;
                    this.framing.wrote(&buf[..written]);
                    return Poll::Ready(Ok(written));
                }
                Step::Replace(own) => {
                    this.out = replacement(&own);
                    this.owed = own.len;
                    ready!(this.drain(cx))?;
                }
            }
        }
        let accepted = this.owed.min(buf.len());
        this.owed -= accepted;
        if accepted == 0 {
            return Pin::new(&mut this.io).poll_write(cx, buf);
        }
        Poll::Ready(Ok(accepted))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.drain(cx))?;
        Pin::new(&mut this.io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.drain(cx))?;
        Pin::new(&mut this.io).poll_shutdown(cx)
    }
}

/// Where the write side stands in the response stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum At {
    /// The next byte starts a response head.
    #[default]
    Head,
    /// Inside a head already looked at: `left` more bytes of it, then `next`.
    InHead {
        left: usize,
        next: Body,
    },
    /// Inside a `content-length` body, with this many bytes to go.
    Length(u64),
    Chunked(Chunk),
    /// Not following any more: everything passes, nothing is replaced.
    Aside,
}

/// What follows a head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Body {
    Empty,
    Length(u64),
    Chunked,
    /// Until the connection closes, or another protocol: the write side steps aside.
    Unknown,
}

/// Inside a chunked body, as actix writes it: `HEX\r\n`, the data, `\r\n`; `0\r\n\r\n` last.
/// Anything else (extensions, trailers) makes the write side step aside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    /// A size line's hex digits so far.
    Size {
        size: u64,
        digits: u8,
    },
    /// After the size line's `\r`.
    SizeLf {
        size: u64,
    },
    /// Inside a chunk's data, with this many bytes to go.
    Data(u64),
    DataCr,
    DataLf,
    /// After the last chunk's size line, its empty line.
    EndCr,
    EndLf,
}

/// An answer the dispatcher wrote by itself, at the start of a head.
#[derive(Debug, Clone, PartialEq, Eq)]
struct OwnAnswer {
    /// Its length in bytes (all head: its body is empty).
    len: usize,
    status: u16,
    /// `1` for HTTP/1.1, `0` for HTTP/1.0.
    minor: u8,
    date: Option<Vec<u8>>,
}

/// What to do with the front of a buffer offered for writing.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    /// The first `n` bytes go out unchanged.
    Pass(usize),
    /// The buffer starts with an answer of the dispatcher's own.
    Replace(OwnAnswer),
}

/// The response framing of one connection's write side.
#[derive(Debug, Default)]
struct Framing {
    at: At,
}

impl Framing {
    /// Looks at the front of `buf` (never empty): a head is read where one starts, and the
    /// bytes up to the next head pass (one response at a time, usually one write). `aside`:
    /// the read side saw a word after which actix's framing cannot be followed.
    fn next(&mut self, buf: &[u8], aside: bool) -> Step {
        if self.at == At::Head {
            self.at = At::Aside;
            if !aside {
                match read_head(buf) {
                    Some(Head::Own(own)) => return Step::Replace(own),
                    Some(Head::Other { len, next }) => self.at = At::InHead { left: len, next },
                    None => {}
                }
            }
        }
        let mut probe = self.at;
        Step::Pass(probe.skip(buf))
    }

    /// Moves over bytes written, a prefix of what [`Framing::next`] let pass.
    fn wrote(&mut self, bytes: &[u8]) {
        let skipped = self.at.skip(bytes);
        debug_assert_eq!(skipped, bytes.len(), "wrote more than was let pass");
    }
}

impl Body {
    fn start(self) -> At {
        match self {
            Body::Empty | Body::Length(0) => At::Head,
            Body::Length(n) => At::Length(n),
            Body::Chunked => At::Chunked(Chunk::Size { size: 0, digits: 0 }),
            Body::Unknown => At::Aside,
        }
    }
}

impl At {
    /// Moves over the bytes of `buf` that belong to the current head or body, up to where the
    /// next head starts; returns how many.
    fn skip(&mut self, buf: &[u8]) -> usize {
        let mut i = 0;
        while i < buf.len() {
            let rest = buf.len() - i;
            match *self {
                At::Head => break,
                At::Aside => return buf.len(),
                At::InHead { left, next } => {
                    let take = left.min(rest);
                    i += take;
                    *self = if take == left {
                        next.start()
                    } else {
                        At::InHead {
                            left: left - take,
                            next,
                        }
                    };
                }
                At::Length(n) | At::Chunked(Chunk::Data(n)) => {
                    let take = n.min(rest as u64);
                    i += take as usize;
                    *self = match (*self, n - take) {
                        (At::Length(_), 0) => At::Head,
                        (At::Length(_), left) => At::Length(left),
                        (_, 0) => At::Chunked(Chunk::DataCr),
                        (_, left) => At::Chunked(Chunk::Data(left)),
                    };
                }
                At::Chunked(chunk) => {
                    *self = chunk.step(buf[i]);
                    i += 1;
                }
            }
        }
        i
    }
}

impl Chunk {
    fn step(self, byte: u8) -> At {
        let next = match (self, byte) {
            (Chunk::Size { size, digits }, _) if digits < 16 && byte.is_ascii_hexdigit() => {
                let digit = (byte as char).to_digit(16).map_or(0, u64::from);
                Chunk::Size {
                    size: (size << 4) | digit,
                    digits: digits + 1,
                }
            }
            (Chunk::Size { size, digits }, b'\r') if digits > 0 => Chunk::SizeLf { size },
            (Chunk::SizeLf { size: 0 }, b'\n') => Chunk::EndCr,
            (Chunk::SizeLf { size }, b'\n') => Chunk::Data(size),
            (Chunk::DataCr, b'\r') => Chunk::DataLf,
            (Chunk::DataLf, b'\n') => Chunk::Size { size: 0, digits: 0 },
            (Chunk::EndCr, b'\r') => Chunk::EndLf,
            (Chunk::EndLf, b'\n') => return At::Head,
            _ => return At::Aside,
        };
        At::Chunked(next)
    }
}

enum Head {
    Own(OwnAnswer),
    Other { len: usize, next: Body },
}

/// The response head at the start of `buf`; `None` when there is no whole, readable one.
fn read_head(buf: &[u8]) -> Option<Head> {
    let mut fields = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_FIELDS];
    let mut res = httparse::Response::new(&mut []);
    let len = match httparse::ParserConfig::default().parse_response_with_uninit_headers(
        &mut res,
        buf,
        &mut fields,
    ) {
        Ok(httparse::Status::Complete(len)) => len,
        _ => return None,
    };
    let status = res.code?;
    if let Some(own) = own_answer(&res, len) {
        return Some(Head::Own(own));
    }
    let next = match status {
        101 => Body::Unknown,
        100..=199 | 204 | 304 => Body::Empty,
        _ => body_of(res.headers),
    };
    Some(Head::Other { len, next })
}

/// How the body after a final response head is framed (RFC 9112 §6.3, for answers to anything
/// but HEAD and CONNECT, which the read side rules out).
fn body_of(fields: &[httparse::Header<'_>]) -> Body {
    let mut length = None;
    let mut chunked = None;
    for field in fields {
        if field.name.eq_ignore_ascii_case("transfer-encoding") {
            // The last coding decides; a later field's codings come after an earlier one's.
            let last = field
                .value
                .rsplit(|&b| b == b',')
                .next()
                .unwrap_or_default();
            chunked = Some(last.trim_ascii().eq_ignore_ascii_case(b"chunked"));
        } else if field.name.eq_ignore_ascii_case("content-length") {
            let value = std::str::from_utf8(field.value)
                .ok()
                .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|v| v.parse::<u64>().ok());
            match (length, value) {
                (_, None) => return Body::Unknown,
                (Some(seen), Some(n)) if seen != n => return Body::Unknown,
                (_, Some(n)) => length = Some(n),
            }
        }
    }
    match (chunked, length) {
        (Some(true), _) => Body::Chunked,
        (Some(false), _) | (None, None) => Body::Unknown,
        (None, Some(n)) => Body::Length(n),
    }
}

/// The dispatcher's own answer, exactly as actix-http writes it: one of its statuses with the
/// standard reason, `content-length: 0`, perhaps `connection` and `date`, and nothing else.
/// Every answer of the application has more (`content-type`, `x-request-id`, a body).
fn own_answer(res: &httparse::Response<'_, '_>, len: usize) -> Option<OwnAnswer> {
    let status = res.code.filter(|s| [400, 408, 431, 500].contains(s))?;
    let reason = StatusCode::from_u16(status).ok()?.canonical_reason()?;
    if res.reason != Some(reason) {
        return None;
    }
    let mut empty = false;
    let mut date = None;
    for (i, field) in res.headers.iter().enumerate() {
        let once = !res.headers[..i]
            .iter()
            .any(|f| f.name.eq_ignore_ascii_case(field.name));
        let known = if field.name.eq_ignore_ascii_case("content-length") {
            empty = field.value == b"0";
            empty
        } else if field.name.eq_ignore_ascii_case("connection") {
            field.value == b"close" || field.value == b"keep-alive"
        } else if field.name.eq_ignore_ascii_case("date") {
            date = Some(field.value.to_vec());
            true
        } else {
            false
        };
        if !once || !known {
            return None;
        }
    }
    empty.then(|| OwnAnswer {
        len,
        status,
        minor: res.version.unwrap_or(1),
        date,
    })
}

/// Our answer for `own`'s status: the body [`ApiError`] renders with its headers, a fresh
/// request id (in `details` too for a 500, as `observe` does), and `connection: close`, since
/// the dispatcher closes the connection after it.
fn replacement(own: &OwnAnswer) -> Vec<u8> {
    let error = match own.status {
        400 => ApiError::MalformedRequest,
        408 => ApiError::HeadTimeout {
            secs: HEAD_TIMEOUT.as_secs(),
        },
        431 => ApiError::HeaderTooLarge {
            max_bytes: HEAD_MAX_BYTES,
            max_fields: HEAD_MAX_FIELDS,
        },
        _ => ApiError::Internal(anyhow::anyhow!("the HTTP layer failed reading a request")),
    };
    let id = observe::new_request_id();
    tracing::info!(request_id = %id, status = own.status, code = error.code(), "request answered by the HTTP layer");
    let res = error.error_response();
    let status = res.status();
    let mut head = Vec::with_capacity(512);
    let _ = write!(
        head,
        "HTTP/1.{} {} {}\r\n",
        own.minor,
        status.as_u16(),
        status.canonical_reason().unwrap_or_default()
    );
    for (name, value) in res.headers() {
        head.extend_from_slice(name.as_str().as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    let body = res.into_body().try_into_bytes().unwrap_or_default();
    let body = if status.is_server_error() {
        observe::body_with_request_id(&body, &id).map_or(body, Into::into)
    } else {
        body
    };
    let _ = write!(
        head,
        "content-length: {}\r\nconnection: close\r\nx-request-id: {id}\r\n\
         x-content-type-options: nosniff\r\n",
        body.len()
    );
    if let Some(date) = &own.date {
        head.extend_from_slice(b"date: ");
        head.extend_from_slice(date);
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"\r\n");
    head.extend_from_slice(&body);
    head
}

/// The read side's look-out for the request words after which actix frames answers by another
/// request than the one answered (module docs).
#[derive(Debug, Default)]
struct Words {
    seen: bool,
    /// The end of the last read, for a word split over two.
    tail: [u8; 8],
    tail_len: usize,
}

impl Words {
    fn read(&mut self, bytes: &[u8]) {
        if self.seen || bytes.is_empty() {
            return;
        }
        let mut joint = [0u8; 16];
        let front = bytes.len().min(8);
        joint[..self.tail_len].copy_from_slice(&self.tail[..self.tail_len]);
        joint[self.tail_len..self.tail_len + front].copy_from_slice(&bytes[..front]);
        self.seen = has_word(&joint[..self.tail_len + front]) || has_word(bytes);
        if bytes.len() >= 8 {
            self.tail.copy_from_slice(&bytes[bytes.len() - 8..]);
            self.tail_len = 8;
        } else {
            let joined = &joint[..self.tail_len + front];
            let keep = joined.len().min(8);
            self.tail[..keep].copy_from_slice(&joined[joined.len() - keep..]);
            self.tail_len = keep;
        }
    }
}

/// Whether `bytes` hold `HEAD`, `CONNECT` (methods are case-sensitive) or `websocket` (in any
/// case, as actix compares the `Upgrade` value). Every byte a client sends passes here, so the
/// search is memchr's.
fn has_word(bytes: &[u8]) -> bool {
    // Built once: a searcher's set-up costs more than searching a request head.
    static HEAD: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"HEAD"));
    static CONNECT: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"CONNECT"));
    HEAD.find(bytes).is_some()
        || CONNECT.find(bytes).is_some()
        || memchr::memchr2_iter(b'k', b'K', bytes).any(|k| {
            k >= 6
                && bytes
                    .get(k - 6..k + 3)
                    .is_some_and(|w| w.eq_ignore_ascii_case(b"websocket"))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The answers actix-http 3.20 writes by itself, as read off the wire.
    const BAD_REQUEST: &[u8] = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\ndate: Mon, 07 Dec 2026 01:54:50 GMT\r\n\r\n";
    /// After a pipelined request the dispatcher leaves `connection` out.
    const BAD_REQUEST_PIPELINED: &[u8] =
        b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\ndate: Mon, 07 Dec 2026 01:54:53 GMT\r\n\r\n";
    const TIMEOUT: &[u8] = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\ndate: Mon, 07 Dec 2026 01:57:46 GMT\r\n\r\n";
    const TOO_LARGE: &[u8] = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\nconnection: close\r\ndate: Mon, 07 Dec 2026 01:54:53 GMT\r\n\r\n";
    const INTERNAL: &[u8] = b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\ndate: Mon, 07 Dec 2026 01:54:53 GMT\r\n\r\n";
    /// The bare form a client may put into an attachment.
    const BARE: &[u8] = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n";

    /// A connection end that takes at most `max` bytes a call and, with `stall`, answers every
    /// other call `Pending`, as a full socket does.
    struct Sink {
        data: Vec<u8>,
        max: usize,
        stall: bool,
        stalled: bool,
    }

    impl AsyncWrite for Sink {
        fn poll_write(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            let this = self.get_mut();
            if this.stall && !this.stalled {
                this.stalled = true;
                return Poll::Pending;
            }
            this.stalled = false;
            let n = buf.len().min(this.max);
            this.data.extend_from_slice(&buf[..n]);
            Poll::Ready(Ok(n))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    /// Writes each buffer as the dispatcher does (offering what is not yet accepted until all
    /// is, then flushing) and returns what reached the connection.
    fn write(buffers: &[&[u8]], max: usize, stall: bool, read_first: &[u8]) -> Vec<u8> {
        let mut conn = Guarded::new(Sink {
            data: Vec::new(),
            max,
            stall,
            stalled: false,
        });
        conn.words.read(read_first);
        let mut cx = Context::from_waker(std::task::Waker::noop());
        for buf in buffers {
            let mut written = 0;
            while written < buf.len() {
                match Pin::new(&mut conn).poll_write(&mut cx, &buf[written..]) {
                    Poll::Ready(Ok(n)) => {
                        assert!(n > 0 && n <= buf.len() - written, "{n}");
                        written += n;
                    }
                    Poll::Ready(Err(e)) => panic!("{e}"),
                    Poll::Pending => {}
                }
            }
            while Pin::new(&mut conn).poll_flush(&mut cx).is_pending() {}
        }
        conn.io.data
    }

    fn response(head: &str, body: &[u8]) -> Vec<u8> {
        let mut out = head.replace('\n', "\r\n").into_bytes();
        out.extend_from_slice(body);
        out
    }

    fn ok_with(body: &[u8]) -> Vec<u8> {
        let head = format!(
            "HTTP/1.1 200 OK\ncontent-length: {}\nx-request-id: 1\ncontent-type: message/rfc822\ndate: Mon, 07 Dec 2026 01:54:53 GMT\n\n",
            body.len()
        );
        response(&head, body)
    }

    fn chunked(pieces: &[&[u8]]) -> Vec<u8> {
        let mut out = response(
            "HTTP/1.1 200 OK\ntransfer-encoding: chunked\ncontent-type: text/csv\n\n",
            b"",
        );
        for piece in pieces {
            out.extend_from_slice(format!("{:X}\r\n", piece.len()).as_bytes());
            out.extend_from_slice(piece);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"0\r\n\r\n");
        out
    }

    /// One answer of ours, checked for the headers every replacement has.
    struct Replaced {
        status: u16,
        date: Option<String>,
        id: String,
        body: serde_json::Value,
    }

    fn replaced(bytes: &[u8]) -> Replaced {
        let mut fields = [httparse::EMPTY_HEADER; 32];
        let mut res = httparse::Response::new(&mut fields);
        let Ok(httparse::Status::Complete(len)) = res.parse(bytes) else {
            panic!("no head in {}", String::from_utf8_lossy(bytes));
        };
        let get = |name: &str| {
            let field = res.headers.iter().find(|h| h.name == name)?;
            Some(String::from_utf8_lossy(field.value).into_owned())
        };
        assert_eq!(get("content-length"), Some((bytes.len() - len).to_string()));
        assert_eq!(get("connection").as_deref(), Some("close"));
        let json = get("content-type");
        assert_eq!(json.as_deref(), Some("application/json; charset=utf-8"));
        Replaced {
            status: res.code.unwrap(),
            date: get("date"),
            id: get("x-request-id").filter(|id| id.len() == 16).unwrap(),
            body: serde_json::from_slice(&bytes[len..]).unwrap(),
        }
    }

    #[test]
    fn the_dispatchers_own_answers_get_the_json_body() {
        let cases = [
            (BAD_REQUEST, 400, "malformed_request"),
            (BAD_REQUEST_PIPELINED, 400, "malformed_request"),
            (TIMEOUT, 408, "request_timeout"),
            (TOO_LARGE, 431, "header_too_large"),
            (INTERNAL, 500, "internal_error"),
        ];
        for (form, status, code) in cases {
            let out = replaced(&write(&[form], usize::MAX, false, b"GARBAGE\r\n\r\n"));
            assert_eq!(out.status, status, "{code}");
            assert_eq!(out.body["code"], code);
            assert!(out.body["message"].is_string());
            assert!(out.body["details"].is_object());
            // The dispatcher's date is kept.
            let date = format!("\r\ndate: {}\r\n", out.date.unwrap());
            assert!(String::from_utf8_lossy(form).contains(&date), "{date}");
        }
        let timeout = replaced(&write(&[TIMEOUT], usize::MAX, false, b""));
        assert_eq!(
            timeout.body["details"]["timeout_secs"],
            HEAD_TIMEOUT.as_secs()
        );
        let large = replaced(&write(&[TOO_LARGE], usize::MAX, false, b""));
        assert_eq!(large.body["details"]["max_fields"], HEAD_MAX_FIELDS);
        // A 500 names its log line, as every server error does.
        let internal = replaced(&write(&[INTERNAL], usize::MAX, false, b""));
        assert_eq!(internal.body["details"]["request_id"], internal.id);
    }

    #[test]
    fn bodies_holding_the_dispatchers_answer_pass_unchanged() {
        let mut stream = Vec::new();
        for body in [BARE, BAD_REQUEST, TIMEOUT] {
            stream.extend(ok_with(body));
        }
        stream.extend(ok_with(b""));
        stream.extend(chunked(&[BARE, b"x", BAD_REQUEST]));
        stream.extend(ok_with(&[BAD_REQUEST, BAD_REQUEST].concat()));
        for max in [usize::MAX, 1, 2, 3, 7, 41, 64, 100] {
            for stall in [false, true] {
                // One buffer, one buffer a response, and the dispatcher's form alone after a
                // body that ended where a short write stopped.
                assert_eq!(write(&[&stream], max, stall, b""), stream, "{max} {stall}");
                let one = ok_with(BARE);
                let (head, body) = one.split_at(one.len() - BARE.len());
                assert_eq!(write(&[head, body], max, stall, b""), one, "{max} {stall}");
            }
        }
    }

    #[test]
    fn an_answer_after_whole_responses_is_replaced_whatever_the_write_sizes() {
        let before = [
            ok_with(BARE),
            chunked(&[BAD_REQUEST]),
            response("HTTP/1.1 100 Continue\n\n", b""),
        ]
        .concat();
        for max in [usize::MAX, 1, 5, 64, 333] {
            for stall in [false, true] {
                let together = [before.as_slice(), BAD_REQUEST_PIPELINED].concat();
                for buffers in [
                    vec![together.as_slice()],
                    vec![before.as_slice(), BAD_REQUEST_PIPELINED],
                ] {
                    let out = write(&buffers, max, stall, b"GET / HTTP/1.1\r\n\r\nGARBAGE");
                    assert_eq!(&out[..before.len()], before.as_slice(), "{max} {stall}");
                    let out = replaced(&out[before.len()..]);
                    assert_eq!(out.body["code"], "malformed_request");
                    assert_eq!(out.status, 400);
                }
            }
        }
    }

    #[test]
    fn what_cannot_be_followed_is_left_alone() {
        // A body until the connection closes, an unreadable head, an upgrade.
        let until_close = response("HTTP/1.1 200 OK\ncontent-type: text/csv\n\n", BAD_REQUEST);
        let odd_length = response("HTTP/1.1 200 OK\ncontent-length: 1, 2\n\n", b"x");
        let upgrade = response("HTTP/1.1 101 Switching Protocols\nupgrade: x\n\n", b"");
        let extension = response(
            "HTTP/1.1 200 OK\ntransfer-encoding: chunked\n\n",
            b"2;x=y\r\nab\r\n0\r\n\r\n",
        );
        for first in [until_close, odd_length, upgrade, extension] {
            let stream = [first.as_slice(), BAD_REQUEST].concat();
            assert_eq!(write(&[&stream], usize::MAX, false, b""), stream);
        }
        // An application's answer is never taken for the dispatcher's.
        let ours = response(
            "HTTP/1.1 400 Bad Request\ncontent-length: 0\nx-request-id: 1\n\n",
            b"",
        );
        assert_eq!(write(&[&ours], usize::MAX, false, b""), ours);
        let other_reason = response("HTTP/1.1 400 Nope\ncontent-length: 0\n\n", b"");
        assert_eq!(
            write(&[&other_reason], usize::MAX, false, b""),
            other_reason
        );
    }

    #[test]
    fn after_head_connect_or_websocket_requests_nothing_is_replaced() {
        let stream = [ok_with(b"x").as_slice(), BAD_REQUEST].concat();
        for sent in [
            &b"HEAD / HTTP/1.1\r\n\r\n"[..],
            b"CONNECT a:1 HTTP/1.1",
            b"upgrade: WebSocket",
        ] {
            assert_eq!(write(&[&stream], usize::MAX, false, sent), stream);
        }
        assert_ne!(
            write(
                &[&stream],
                usize::MAX,
                false,
                b"GET / HTTP/1.1\r\nX: head\r\n"
            ),
            stream
        );
    }

    #[test]
    fn request_words_are_found_across_reads() {
        for (reads, seen) in [
            (
                vec![&b"GET / HTTP/1.1\r\n\r\nHE"[..], b"AD / HTTP/1.1"],
                true,
            ),
            (vec![b"x-up: webso", b"cket"], true),
            (vec![b"C", b"O", b"N", b"N", b"E", b"C", b"T"], true),
            (vec![b"GET / HTTP/1.1\r\n", b"Host: HEA", b"RD\r\n"], false),
            (vec![b"WEBSOCKE", b"", b"T"], true),
        ] {
            let mut words = Words::default();
            for read in &reads {
                words.read(read);
            }
            assert_eq!(words.seen, seen, "{reads:?}");
        }
    }
}
