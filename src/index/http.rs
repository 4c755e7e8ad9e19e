//! The HTTP client: rustls with the platform verifier, HTTP/2, gzip, connection reuse,
//! retries with backoff, and errors that name the (redacted) URL.

use std::collections::HashMap;
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::Url;
use sha2::{Digest, Sha256};

#[derive(Clone, Debug)]
pub struct HttpOptions {
    /// Extra PEM trust roots (`--cert`), added to the platform's.
    pub cert: Option<PathBuf>,
    /// For one attempt's whole response, from connecting to the body's last byte: a body that
    /// trickles in must not hold a run forever.
    pub timeout: Duration,
    /// Attempts after the first, on connection errors, 429 and 5xx.
    pub retries: u32,
    /// Refuse every request (`--offline`): callers get [`HttpError::Offline`].
    pub offline: bool,
    /// Pause before the first retry; doubled for each further one.
    pub backoff: Duration,
    /// The longest pause before a retry, whether from the backoff or a `Retry-After`.
    pub max_pause: Duration,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            cert: None,
            timeout: Duration::from_secs(30),
            retries: 3,
            offline: false,
            backoff: Duration::from_millis(200),
            max_pause: MAX_PAUSE,
        }
    }
}

/// The default [`HttpOptions::max_pause`]: so one URL's retries end within
/// `(retries + 1) × timeout + retries × MAX_PAUSE` (the README states it).
pub const MAX_PAUSE: Duration = Duration::from_secs(30);

#[derive(Clone, Debug, thiserror::Error)]
pub enum HttpError {
    #[error("{url}: {message}")]
    Transport { url: String, message: String },
    #[error("{url}: HTTP {status}{}", after_attempts(*attempts))]
    Status { url: String, status: u16, attempts: u32 },
    #[error("{url}: not in the cache and --offline forbids the network")]
    Offline { url: String },
    /// A body (decoded) longer than the caller allows: a bomb, or not what was asked for.
    #[error("{url}: the response is larger than {}, refused", show_size(*cap))]
    TooLarge { url: String, cap: u64 },
    #[error("cannot set up the HTTP client: {0}")]
    Setup(String),
}

/// A response read to the end: the body in memory, or what [`HttpClient::get_with`] made of it.
#[derive(Clone, Debug)]
pub struct Response<B = Vec<u8>> {
    /// The final URL, after redirects.
    pub url: Url,
    pub status: u16,
    pub content_type: Option<String>,
    pub cache_control: Option<String>,
    /// `Content-Range` of a 206 response.
    pub content_range: Option<String>,
    /// `Retry-After` of a 429 or 503 response, as a wait from now.
    pub retry_after: Option<Duration>,
    pub body: B,
}

/// What a response says before its body: what [`HttpClient::get_with`]'s reader is given.
pub struct Head<'a> {
    pub status: u16,
    pub content_type: Option<&'a str>,
    /// The final URL, after redirects.
    pub url: &'a Url,
}

/// What a request is for, named by its caller: `--verbose` counts requests and bytes per kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestKind {
    /// Project pages (PEP 503 HTML or PEP 691 JSON).
    Page,
    /// PEP 658 metadata files.
    Metadata,
    /// Range requests into wheels (a server that ignores the range sends the whole wheel).
    WheelRange,
    /// sdists streamed until their metadata is found.
    Sdist,
    /// Whole files: for builds, `verify --installed`, `--compute-missing-hashes`.
    Download,
    /// PEP 740 provenance objects.
    Provenance,
}

impl RequestKind {
    pub const ALL: [Self; 6] =
        [Self::Page, Self::Metadata, Self::WheelRange, Self::Sdist, Self::Download, Self::Provenance];

    pub fn name(self) -> &'static str {
        match self {
            Self::Page => "pages",
            Self::Metadata => "metadata",
            Self::WheelRange => "wheel ranges",
            Self::Sdist => "sdists",
            Self::Download => "whole files",
            Self::Provenance => "provenance",
        }
    }
}

/// Requests of one kind and the bytes of their bodies, as read (after decoding).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Traffic {
    pub requests: u64,
    pub bytes: u64,
}

/// Counters for the `--verbose` timing summary.
#[derive(Clone, Debug, Default)]
pub struct HttpStats {
    /// Of every kind.
    pub requests: u64,
    pub bytes: u64,
    pub retries: u64,
    /// Requests being sent or read right now.
    pub in_flight: u64,
    /// Per kind, in [`RequestKind::ALL`]'s order.
    pub by_kind: [Traffic; RequestKind::ALL.len()],
    /// How long exactly `i` requests were in flight, at index `i`, since the client was made.
    pub in_flight_time: Vec<Duration>,
}

impl HttpStats {
    pub fn of(&self, kind: RequestKind) -> Traffic {
        self.by_kind[kind as usize]
    }

    /// The time at least one request was in flight.
    pub fn busy(&self) -> Duration {
        self.in_flight_time.iter().skip(1).sum()
    }
}

/// The time-weighted median of the number of requests in flight, over the time at least one
/// was (`time_at[i]`: how long exactly `i` were): the smallest count at or below which half
/// that time was spent. `None` if no request was ever in flight. Idle time is left out so
/// that a run's pauses (computation, waiting on a build) do not pull it to zero: the
/// summary gives the idle share of the run beside it.
pub fn median_in_flight(time_at: &[Duration]) -> Option<usize> {
    let busy: Duration = time_at.iter().skip(1).sum();
    if busy.is_zero() {
        return None;
    }
    let mut below = Duration::ZERO;
    time_at.iter().enumerate().skip(1).find_map(|(count, time)| {
        below += *time;
        (below * 2 >= busy).then_some(count)
    })
}

/// The live counters behind [`HttpStats`], updated by every thread sharing the client.
#[derive(Default)]
struct Counters {
    /// Per kind, in [`RequestKind::ALL`]'s order.
    requests: [AtomicU64; RequestKind::ALL.len()],
    bytes: [AtomicU64; RequestKind::ALL.len()],
    retries: AtomicU64,
    occupancy: Mutex<Occupancy>,
}

/// How many requests are in flight, since when, and how long each count has held so far.
struct Occupancy {
    count: usize,
    since: Instant,
    time_at: Vec<Duration>,
}

impl Default for Occupancy {
    fn default() -> Self {
        Self { count: 0, since: Instant::now(), time_at: Vec::new() }
    }
}

impl Occupancy {
    /// Adds the time since the last change to the current count's.
    fn settle(&mut self) {
        let now = Instant::now();
        if self.time_at.len() <= self.count {
            self.time_at.resize(self.count + 1, Duration::ZERO);
        }
        self.time_at[self.count] += now - self.since;
        self.since = now;
    }
}

/// Counts one request as in flight until dropped (also on early returns).
struct InFlight<'a>(&'a Mutex<Occupancy>);

impl<'a> InFlight<'a> {
    fn enter(occupancy: &'a Mutex<Occupancy>) -> Self {
        let mut now = lock(occupancy);
        now.settle();
        now.count += 1;
        Self(occupancy)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let mut now = lock(self.0);
        now.settle();
        now.count -= 1;
    }
}

/// The counters stay usable after a panic elsewhere: they are only ever added to.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poison| poison.into_inner())
}

/// A blocking client shared by all threads: one connection pool, one set of counters.
pub struct HttpClient {
    /// `None` with `--offline`: no request will be made, so no TLS roots are loaded either.
    client: Option<reqwest::blocking::Client>,
    options: HttpOptions,
    counters: Counters,
    /// Credentials seen in a requested URL, per origin, so later URLs on the same origin
    /// (files linked relatively from an authenticated index) are sent with them too.
    credentials: Mutex<HashMap<String, (String, Option<String>)>>,
}

/// Why one attempt failed, kept for the message after the last one.
enum Failure {
    Transport(String),
    /// With the server's `Retry-After`, if it sent one.
    Status(u16, Option<Duration>),
}

impl HttpClient {
    pub fn new(options: HttpOptions) -> Result<Self, HttpError> {
        let builder = reqwest::blocking::Client::builder()
            .user_agent(concat!("hashlock/", env!("CARGO_PKG_VERSION")))
            // Each blocking read gets this; the whole-response bound is set per request.
            .timeout(options.timeout)
            .connect_timeout(options.timeout)
            // A redirect to a file host would otherwise tell it which index page (a private
            // index's path, say) the request came from.
            .referer(false)
            .gzip(true);
        let client = match (options.offline, &options.cert) {
            (true, _) => None,
            (false, Some(path)) => Some(builder.tls_certs_merge(read_certs(path)?).build()),
            (false, None) => Some(builder.build()),
        };
        let client = client.transpose().map_err(|e| HttpError::Setup(error_chain(&e)))?;
        Ok(Self { client, options, counters: Counters::default(), credentials: Mutex::default() })
    }

    /// GET with extra headers, the body read into memory, at most `cap` bytes once decoded.
    /// Retries transport errors, 429 and 5xx with backoff; returns any other status as a
    /// `Response` for the caller to judge (404, 416, ...).
    pub fn get(&self, kind: RequestKind, url: &Url, headers: &[(&str, &str)], cap: u64) -> Result<Response, HttpError> {
        self.get_with(
            kind,
            url,
            headers,
            |_| cap,
            |_, body| {
                let mut bytes = Vec::new();
                body.read_to_end(&mut bytes)?;
                Ok(bytes)
            },
        )
    }

    /// A whole file: `read` takes the body of a 200 (cut off after `cap` bytes, as for
    /// [`get_with`](Self::get_with)); any other status is an error naming `url`.
    pub fn download<B>(
        &self,
        url: &Url,
        cap: u64,
        read: impl Fn(&mut dyn Read) -> std::io::Result<B>,
    ) -> Result<B, HttpError> {
        let response = self.get_with(
            RequestKind::Download,
            url,
            &[],
            |_| cap,
            |head, body| match head.status {
                200 => read(body).map(Some),
                _ => Ok(None),
            },
        )?;
        response.body.ok_or_else(|| HttpError::unexpected_status(url, response.status))
    }

    /// [`get`](Self::get) with the body read by `read`, given the [`Head`] and the body cut off
    /// after `cap(status) + 1` bytes (so a body on its way to a file need not fit in memory).
    /// A body longer than the cap, or a `Content-Length` saying so, is [`HttpError::TooLarge`].
    pub fn get_with<B>(
        &self,
        kind: RequestKind,
        url: &Url,
        headers: &[(&str, &str)],
        cap: impl Fn(u16) -> u64,
        read: impl Fn(&Head<'_>, &mut dyn Read) -> std::io::Result<B>,
    ) -> Result<Response<B>, HttpError> {
        let Some(client) = &self.client else {
            return Err(HttpError::Offline { url: redact(url) });
        };
        let request_url = self.with_credentials(url);
        let mut failure = Failure::Transport(String::new());
        for attempt in 0..=self.options.retries {
            if attempt > 0 {
                self.counters.retries.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(self.pause(attempt, &failure));
            }
            failure = match self.attempt(client, kind, &request_url, headers, &cap, &read) {
                Ok(response) if response.status == 429 || response.status >= 500 => {
                    Failure::Status(response.status, response.retry_after)
                }
                Ok(response) => return Ok(response),
                Err(Attempt::Fatal(message)) => return Err(HttpError::Transport { url: redact(url), message }),
                Err(Attempt::TooLarge(cap)) => return Err(HttpError::TooLarge { url: redact(url), cap }),
                Err(Attempt::Retryable(message)) => Failure::Transport(message),
            };
        }
        let (url, attempts) = (redact(url), self.options.retries + 1);
        Err(match failure {
            Failure::Status(status, _) => HttpError::Status { url, status, attempts },
            Failure::Transport(message) => {
                HttpError::Transport { url, message: format!("{message}{}", after_attempts(attempts)) }
            }
        })
    }

    /// Before retry number `attempt`: what the server asked for, else the backoff, capped.
    fn pause(&self, attempt: u32, failure: &Failure) -> Duration {
        let asked = match failure {
            Failure::Status(_, retry_after) => *retry_after,
            Failure::Transport(_) => None,
        };
        asked
            .unwrap_or_else(|| self.options.backoff.saturating_mul(1 << (attempt - 1).min(10)))
            .min(self.options.max_pause)
    }

    pub fn stats(&self) -> HttpStats {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let by_kind = RequestKind::ALL.map(|kind| Traffic {
            requests: load(&self.counters.requests[kind as usize]),
            bytes: load(&self.counters.bytes[kind as usize]),
        });
        let (in_flight, in_flight_time) = {
            let mut occupancy = lock(&self.counters.occupancy);
            // Requests still in flight count up to now.
            occupancy.settle();
            (occupancy.count as u64, occupancy.time_at.clone())
        };
        HttpStats {
            requests: by_kind.iter().map(|t| t.requests).sum(),
            bytes: by_kind.iter().map(|t| t.bytes).sum(),
            retries: load(&self.counters.retries),
            in_flight,
            by_kind,
            in_flight_time,
        }
    }

    /// One request, its body read by `read`.
    fn attempt<B>(
        &self,
        client: &reqwest::blocking::Client,
        kind: RequestKind,
        url: &Url,
        headers: &[(&str, &str)],
        cap: &impl Fn(u16) -> u64,
        read: &impl Fn(&Head<'_>, &mut dyn Read) -> std::io::Result<B>,
    ) -> Result<Response<B>, Attempt> {
        let _in_flight = InFlight::enter(&self.counters.occupancy);
        self.counters.requests[kind as usize].fetch_add(1, Ordering::Relaxed);
        // Per request, reqwest's timeout covers the body too (the client's covers each read).
        let mut request = client.get(url.clone()).timeout(self.options.timeout);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().map_err(Attempt::from)?;
        let header = |name: reqwest::header::HeaderName| {
            response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
        };
        let content_type = header(reqwest::header::CONTENT_TYPE);
        let cache_control = header(reqwest::header::CACHE_CONTROL);
        let content_range = header(reqwest::header::CONTENT_RANGE);
        let status = response.status().as_u16();
        let retry_after = match status {
            429 | 503 => header(reqwest::header::RETRY_AFTER).and_then(|value| parse_retry_after(&value)),
            _ => None,
        };
        // reqwest moves URL credentials into a header; the caller sees the URL without them.
        let url = without_credentials(response.url());
        let cap = cap(status);
        // Known only when the body is not decoded; the count below holds either way.
        if response.content_length().is_some_and(|length| length > cap) {
            return Err(Attempt::TooLarge(cap));
        }
        // Read, not `bytes()`: the body need not fit in memory.
        let mut body = Counted { inner: response.take(cap.saturating_add(1)), count: 0 };
        let result = read(&Head { status, content_type: content_type.as_deref(), url: &url }, &mut body);
        self.counters.bytes[kind as usize].fetch_add(body.count, Ordering::Relaxed);
        if body.count > cap {
            return Err(Attempt::TooLarge(cap));
        }
        let body = result.map_err(|e| Attempt::Retryable(error_chain(&e)))?;
        Ok(Response { url, status, content_type, cache_control, content_range, retry_after, body })
    }

    /// Remembers credentials carried by `url`, or adds the ones remembered for its origin.
    fn with_credentials(&self, url: &Url) -> Url {
        let origin = url.origin().ascii_serialization();
        let mut known = lock(&self.credentials);
        if !url.username().is_empty() || url.password().is_some() {
            known.insert(origin, (url.username().to_string(), url.password().map(str::to_string)));
            return url.clone();
        }
        let mut url = url.clone();
        if let Some((username, password)) = known.get(&origin) {
            // Both are already percent-encoded, as read from a parsed URL.
            let _ = url.set_username(username);
            let _ = url.set_password(password.as_deref());
        }
        url
    }
}

/// A failed attempt: worth retrying (connection, timeout, truncated body) or not (a request
/// that cannot be built, such as an invalid header; a body over its cap).
enum Attempt {
    Retryable(String),
    Fatal(String),
    TooLarge(u64),
}

/// A body reader that counts what it yields.
struct Counted<R> {
    inner: R,
    count: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buf)?;
        self.count += read as u64;
        Ok(read)
    }
}

/// Copies a body into an anonymous temp file (removed when dropped), rewound for reading:
/// whole distributions reach gigabytes, which must not sit in memory.
pub fn spool(body: &mut dyn Read) -> std::io::Result<std::fs::File> {
    let mut file = tempfile::tempfile()?;
    std::io::copy(body, &mut file)?;
    file.seek(std::io::SeekFrom::Start(0))?;
    Ok(file)
}

/// Copies a body to an anonymous temp file ([`spool`]), hashing it (sha256, hex) on the way.
pub fn spool_hashed(body: &mut dyn Read) -> std::io::Result<(std::fs::File, String)> {
    let mut hashing = Hashing { inner: body, hasher: Sha256::new() };
    let file = spool(&mut hashing)?;
    Ok((file, crate::dist::lower_hex(&hashing.hasher.finalize())))
}

/// A reader that hashes what passes through it.
struct Hashing<'r> {
    inner: &'r mut dyn Read,
    hasher: Sha256,
}

impl Read for Hashing<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buf)?;
        self.hasher.update(&buf[..read]);
        Ok(read)
    }
}

/// A `Retry-After` value as a wait from now: delay-seconds or an HTTP date (one in the past
/// is no wait). Anything else is ignored, and the backoff applies.
fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(std::time::SystemTime::now()).unwrap_or_default())
}

/// `url` with no user or password.
pub fn without_credentials(url: &Url) -> Url {
    let mut url = url.clone();
    // Fails only for URLs that cannot carry credentials anyway.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url
}

/// `256 MiB`, `8 GiB`, `32768 bytes`: a cap as a person reads it.
fn show_size(bytes: u64) -> String {
    for (unit, size) in [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] {
        if bytes >= size && bytes.is_multiple_of(size) {
            return format!("{} {unit}", bytes / size);
        }
    }
    format!("{bytes} bytes")
}

impl From<reqwest::Error> for Attempt {
    fn from(error: reqwest::Error) -> Self {
        let fatal = error.is_builder();
        let message = error_chain(&error.without_url());
        if fatal { Self::Fatal(message) } else { Self::Retryable(message) }
    }
}

impl HttpError {
    /// An unexpected status the caller got back as a response (no retries involved).
    pub fn unexpected_status(url: &Url, status: u16) -> Self {
        Self::Status { url: redact(url), status, attempts: 1 }
    }
}

/// ` (after N attempts)` when the request was retried.
fn after_attempts(attempts: u32) -> String {
    if attempts > 1 { format!(" (after {attempts} attempts)") } else { String::new() }
}

/// An error and its causes on one line (`a: b: c`), repeated texts dropped.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current = Some(error);
    while let Some(e) = current {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        current = e.source();
    }
    parts.join(": ")
}

/// Every certificate of a PEM bundle (`--cert`); an unreadable file or one without a valid
/// certificate is a setup error naming the file.
fn read_certs(path: &Path) -> Result<Vec<reqwest::Certificate>, HttpError> {
    let bad = |message: String| HttpError::Setup(format!("{}: {message}", path.display()));
    let pem = std::fs::read(path).map_err(|e| bad(format!("cannot read certificates: {e}")))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| bad(format!("invalid PEM: {e}")))?;
    if certs.is_empty() {
        return Err(bad("no PEM certificate in the file".to_string()));
    }
    Ok(certs)
}

/// The URL with any password (or token-as-username) replaced by `***`, for messages and files.
pub fn redact(url: &Url) -> String {
    redact_text(url.as_str())
}

/// `text` (a requirement line, a command-line word, an error message) with the whole userinfo
/// of every URL in it shown as `***`: the token may be the user (`TOKEN:@`, `TOKEN:x-oauth-basic@`)
/// as well as the password, and echoing one would put it in a CI log.
pub fn redact_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("://") {
        let (before, after) = rest.split_at(start + 3);
        out.push_str(before);
        let authority_len =
            after.find(|c: char| matches!(c, '/' | '?' | '#') || c.is_whitespace()).unwrap_or(after.len());
        match after[..authority_len].rfind('@') {
            Some(at) => {
                out.push_str("***");
                rest = &after[at..];
            }
            None => rest = after,
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::RequestKind::Page;
    use super::*;
    use crate::index::test_server::{Hit, Reply, TestServer};

    /// A self-signed EC test CA (not trusted anywhere; only parsed here).
    const TEST_CA: &str = "-----BEGIN CERTIFICATE-----
MIIBjTCCATOgAwIBAgIUYKwxRJcgMhz2DcYx0Sr+HW9xx64wCgYIKoZIzj0EAwIw
GzEZMBcGA1UEAwwQaGFzaGxvY2sgdGVzdCBDQTAgFw0yNjExMjUwODM2NTFaGA8y
MTI2MTEwMTA4MzY1MVowGzEZMBcGA1UEAwwQaGFzaGxvY2sgdGVzdCBDQTBZMBMG
ByqGSM49AgEGCCqGSM49AwEHA0IABOYO5MRoV5B7fXYWegaeLL76/8yNg8+2gM+Z
T5DeRP7y19pOfwNSwJGK0FwkJfRLtTLloI1uQpB1YpbAm/C5ELmjUzBRMB0GA1Ud
DgQWBBQV9LBI3NVuOtYMlz+yR0apncui0TAfBgNVHSMEGDAWgBQV9LBI3NVuOtYM
lz+yR0apncui0TAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0gAMEUCIErQ
HVr/hW4fiWq8/W2t5VqgoFXKfpvUCr5vb7XeSgS3AiEA2eW39EI+Ts3ybgEhEtt+
IionD5I9SsUOfSq8KMdoH6c=
-----END CERTIFICATE-----
";

    /// Far above any body these tests serve.
    const CAP: u64 = 1 << 20;

    fn client(retries: u32) -> HttpClient {
        HttpClient::new(HttpOptions { retries, backoff: Duration::from_millis(1), ..HttpOptions::default() }).unwrap()
    }

    #[test]
    fn retries_5xx_then_succeeds() {
        let server = TestServer::start(|_, before| match before {
            0 => Reply::new(503, "text/plain", "busy"),
            1 => Reply::new(429, "text/plain", "slow down"),
            _ => {
                let mut reply = Reply::new(200, "text/html", "<html>ok</html>");
                reply.headers.push(("Cache-Control", "max-age=60".into()));
                reply
            }
        });
        let http = client(3);
        let response = http.get(Page, &server.url.join("page/").unwrap(), &[], CAP).unwrap();
        assert_eq!((response.status, response.body.as_slice()), (200, b"<html>ok</html>".as_slice()));
        assert_eq!(response.content_type.as_deref(), Some("text/html"));
        assert_eq!(response.cache_control.as_deref(), Some("max-age=60"));
        let stats = http.stats();
        assert_eq!((stats.requests, stats.retries, stats.in_flight), (3, 2, 0));
        assert!(stats.bytes >= 15);
    }

    /// Each request is counted under the kind its caller named, with its body's bytes as read
    /// (a retried request as often as it was sent, a gzipped body decoded).
    #[test]
    fn requests_and_bytes_are_counted_by_kind() {
        use std::io::Write;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(&[b'{'; 3000]).unwrap();
        let gzipped = encoder.finish().unwrap();
        let server = TestServer::start(move |path, before| match (path, before) {
            ("/flaky", 0) => Reply::new(503, "text/plain", "busy!"),
            ("/page", _) => {
                let mut reply = Reply::new(200, "application/json", gzipped.clone());
                reply.headers.push(("Content-Encoding", "gzip".into()));
                reply
            }
            _ => Reply::new(200, "application/octet-stream", vec![b'x'; 100]),
        });
        let http = client(1);
        let url = |path: &str| server.url.join(path).unwrap();
        http.get(Page, &url("page"), &[], CAP).unwrap();
        http.get(Page, &url("page"), &[], CAP).unwrap();
        http.get(RequestKind::Metadata, &url("flaky"), &[], CAP).unwrap();
        http.download(&url("file.whl"), CAP, |body| std::io::copy(body, &mut std::io::sink())).unwrap();
        let stats = http.stats();
        let traffic = |requests, bytes| Traffic { requests, bytes };
        let expected = [
            (Page, traffic(2, 6000)),
            (RequestKind::Metadata, traffic(2, 105)),
            (RequestKind::WheelRange, traffic(0, 0)),
            (RequestKind::Sdist, traffic(0, 0)),
            (RequestKind::Download, traffic(1, 100)),
            (RequestKind::Provenance, traffic(0, 0)),
        ];
        for (kind, traffic) in expected {
            assert_eq!(stats.of(kind), traffic, "{}", kind.name());
        }
        assert_eq!((stats.requests, stats.bytes, stats.retries), (5, 6205, 1));
    }

    /// Three requests sent at once to a server that answers one at a time, each after 150 ms:
    /// three in flight, then two, then one, 150 ms each.
    #[test]
    fn time_in_flight_is_recorded_per_count() {
        let server = TestServer::start(|_, _| {
            std::thread::sleep(Duration::from_millis(150));
            Reply::new(200, "text/plain", "ok")
        });
        let http = client(0);
        assert_eq!(median_in_flight(&http.stats().in_flight_time), None, "nothing sent yet");
        std::thread::scope(|scope| {
            for path in ["a", "b", "c"] {
                let (http, url) = (&http, server.url.join(path).unwrap());
                scope.spawn(move || http.get(Page, &url, &[], CAP).unwrap());
            }
        });
        let stats = http.stats();
        assert_eq!((stats.in_flight, stats.in_flight_time.len()), (0, 4), "{stats:?}");
        for count in 1..=3 {
            assert!(stats.in_flight_time[count] >= Duration::from_millis(100), "{count}: {stats:?}");
        }
        assert!(stats.busy() >= Duration::from_millis(450), "{stats:?}");
        assert_eq!(median_in_flight(&stats.in_flight_time), Some(2), "{stats:?}");
    }

    #[test]
    fn the_median_in_flight_is_weighted_by_time_and_leaves_out_idle_time() {
        let ms = Duration::from_millis;
        // Idle most of the time, then one in flight for 10 ms and four for 30 ms.
        assert_eq!(median_in_flight(&[ms(1000), ms(10), ms(0), ms(0), ms(30)]), Some(4));
        // Half the busy time at one: the smaller count.
        assert_eq!(median_in_flight(&[ms(0), ms(20), ms(20)]), Some(1));
        assert_eq!(median_in_flight(&[ms(0), ms(19), ms(21)]), Some(2));
        assert_eq!(median_in_flight(&[ms(5), ms(1), ms(1), ms(8)]), Some(3));
        assert_eq!(median_in_flight(&[ms(500)]), None);
        assert_eq!(median_in_flight(&[]), None);
    }

    #[test]
    fn retry_after_is_honoured_in_seconds_and_capped() {
        let server = TestServer::start(|path, before| match (path, before) {
            (_, 1..) => Reply::new(200, "text/plain", "ok"),
            ("/soon", 0) => {
                let mut reply = Reply::new(429, "text/plain", "slow down");
                reply.headers.push(("Retry-After", "1".into()));
                reply
            }
            _ => {
                let mut reply = Reply::new(503, "text/plain", "maintenance");
                reply.headers.push(("Retry-After", "3600".into()));
                reply
            }
        });
        let options = HttpOptions {
            retries: 1,
            backoff: Duration::from_millis(1),
            max_pause: Duration::from_secs(2),
            ..HttpOptions::default()
        };
        let http = HttpClient::new(options).unwrap();
        let started = std::time::Instant::now();
        assert_eq!(http.get(Page, &server.url.join("soon").unwrap(), &[], CAP).unwrap().status, 200);
        let waited = started.elapsed();
        assert!(waited >= Duration::from_secs(1) && waited < Duration::from_secs(2), "{waited:?}");
        // An hour asked for, the cap waited.
        let started = std::time::Instant::now();
        assert_eq!(http.get(Page, &server.url.join("later").unwrap(), &[], CAP).unwrap().status, 200);
        let waited = started.elapsed();
        assert!(waited >= Duration::from_secs(2) && waited < Duration::from_secs(3), "{waited:?}");
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        assert_eq!(parse_retry_after(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT"), Some(Duration::ZERO));
        let soon = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(120));
        let wait = parse_retry_after(&soon).unwrap();
        assert!(wait > Duration::from_secs(110) && wait <= Duration::from_secs(120), "{wait:?}");
        for junk in ["", "-1", "soon", "1.5", "Sun, 06 Nov 1994"] {
            assert_eq!(parse_retry_after(junk), None, "{junk:?}");
        }
    }

    /// A body of 100 bytes sent a byte every 0.2 s: each read is quick, the whole is not.
    #[test]
    fn the_timeout_bounds_a_trickling_body() {
        use std::io::{BufRead, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = Url::parse(&format!("http://{}/slow", listener.local_addr().unwrap())).unwrap();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                std::thread::spawn(move || {
                    let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
                    let mut line = String::new();
                    while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                        line.clear();
                    }
                    let mut stream = stream;
                    let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n");
                    for _ in 0..100 {
                        if stream.write_all(b"x").is_err() {
                            return;
                        }
                        std::thread::sleep(Duration::from_millis(200));
                    }
                });
            }
        });
        let options = HttpOptions {
            retries: 1,
            timeout: Duration::from_secs(1),
            backoff: Duration::from_millis(1),
            ..HttpOptions::default()
        };
        let http = HttpClient::new(options).unwrap();
        let started = std::time::Instant::now();
        let error = http.get(Page, &url, &[], CAP).unwrap_err();
        let took = started.elapsed();
        // Two attempts of one second each, and the pause between them.
        assert!(took < Duration::from_millis(2500), "{took:?}");
        let message = error.to_string();
        assert!(message.starts_with(&format!("{url}: ")) && message.ends_with("(after 2 attempts)"), "{message}");
    }

    #[test]
    fn gives_up_naming_the_redacted_url_and_last_status() {
        let server = TestServer::start(|_, _| Reply::new(502, "text/plain", "bad gateway"));
        let mut url = server.url.join("simple/").unwrap();
        url.set_username("user").unwrap();
        url.set_password(Some("hunter2")).unwrap();
        let error = client(2).get(Page, &url, &[], CAP).unwrap_err();
        assert_eq!(server.hits().len(), 3);
        let message = error.to_string();
        assert_eq!(
            message,
            format!("http://***@{}/simple/: HTTP 502 (after 3 attempts)", url.authority().split('@').nth(1).unwrap())
        );
    }

    #[test]
    fn gzip_bodies_are_decoded() {
        use std::io::Write;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(b"{\"files\": []}").unwrap();
        let gzipped = encoder.finish().unwrap();
        let server = TestServer::start(move |_, _| {
            let mut reply = Reply::new(200, "application/json", gzipped.clone());
            reply.headers.push(("Content-Encoding", "gzip".into()));
            reply
        });
        let response = client(0).get(Page, &server.url, &[], CAP).unwrap();
        assert_eq!(response.body, b"{\"files\": []}");
        assert!(server.hits()[0].header("Accept-Encoding").is_some_and(|v| v.contains("gzip")));
    }

    #[test]
    fn bodies_over_the_cap_are_refused_without_retry() {
        use std::io::Write;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(&[b' '; 4096]).unwrap();
        let gzipped = encoder.finish().unwrap();
        let server = TestServer::start(move |path, _| match path {
            "/bomb" => {
                let mut reply = Reply::new(200, "application/json", gzipped.clone());
                reply.headers.push(("Content-Encoding", "gzip".into()));
                reply
            }
            _ => Reply::new(200, "text/plain", vec![b'x'; 4096]),
        });
        let http = client(3);
        // Decoded, the bomb is larger than its Content-Length says: the count stops it.
        for path in ["bomb", "plain"] {
            let url = server.url.join(path).unwrap();
            let error = http.get(Page, &url, &[], 1024).unwrap_err();
            assert_eq!(error.to_string(), format!("{url}: the response is larger than 1 KiB, refused"));
        }
        assert_eq!((http.stats().requests, http.stats().retries), (2, 0));
        // At the cap exactly, the body is read.
        assert_eq!(http.get(Page, &server.url.join("plain").unwrap(), &[], 4096).unwrap().body.len(), 4096);
    }

    #[test]
    fn spooled_bodies_are_read_back_from_the_start() {
        let server = TestServer::start(|_, _| Reply::new(200, "application/octet-stream", "wheel bytes"));
        let response = client(0).get_with(Page, &server.url, &[], |_| CAP, |_, body| spool(body)).unwrap();
        let mut text = String::new();
        let mut file = response.body;
        file.read_to_string(&mut text).unwrap();
        assert_eq!(text, "wheel bytes");
    }

    #[test]
    fn sizes_are_shown_in_the_largest_whole_unit() {
        assert_eq!(show_size(256 << 20), "256 MiB");
        assert_eq!(show_size(16 << 30), "16 GiB");
        assert_eq!(show_size(32768), "32 KiB");
        assert_eq!(show_size(1000), "1000 bytes");
    }

    #[test]
    fn client_errors_are_returned_without_retry() {
        let server = TestServer::start(|_, _| Reply::new(404, "text/plain", "no such page"));
        let http = client(3);
        let response = http.get(Page, &server.url, &[], CAP).unwrap();
        assert_eq!(response.status, 404);
        assert_eq!((http.stats().requests, http.stats().retries), (1, 0));
    }

    #[test]
    fn connection_errors_are_retried_then_reported() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let url = Url::parse(&format!("http://127.0.0.1:{port}/simple/")).unwrap();
        let http = client(1);
        let error = http.get(Page, &url, &[], CAP).unwrap_err();
        assert!(matches!(error, HttpError::Transport { .. }));
        let message = error.to_string();
        assert!(message.starts_with(&format!("{url}: ")) && message.ends_with("(after 2 attempts)"), "{message}");
        assert_eq!(http.stats().retries, 1);
    }

    #[test]
    fn sends_user_agent_headers_and_remembered_credentials() {
        let server = TestServer::start(|_, _| Reply::new(200, "text/plain", "ok"));
        let http = client(0);
        let mut with_token = server.url.join("simple/").unwrap();
        with_token.set_username("tok%40en").unwrap();
        http.get(Page, &with_token, &[("Accept", "text/html")], CAP).unwrap();
        // A file linked from the page, on the same origin, without credentials in its URL.
        let response = http.get(Page, &server.url.join("files/a.whl").unwrap(), &[], CAP).unwrap();
        assert_eq!(response.url, server.url.join("files/a.whl").unwrap());
        let hits = server.hits();
        assert_eq!(hits[0].header("User-Agent"), Some(concat!("hashlock/", env!("CARGO_PKG_VERSION"))));
        assert_eq!(hits[0].header("Accept"), Some("text/html"));
        // base64("tok@en:")
        assert_eq!(hits[0].header("Authorization"), Some("Basic dG9rQGVuOg=="));
        assert_eq!(hits[1].header("Authorization"), Some("Basic dG9rQGVuOg=="));
    }

    /// An index that needs credentials redirecting to another origin (another port): the
    /// credentials stay with the index, and files linked from the other origin get none either.
    #[test]
    fn credentials_are_not_sent_across_origins_on_redirect() {
        let elsewhere = TestServer::start(|_, _| Reply::new(200, "text/plain", "ok"));
        let target = elsewhere.url.join("simple/demo/").unwrap().to_string();
        let index = TestServer::start(move |path, _| match path {
            "/same-origin/" => Reply::new(200, "text/plain", "ok"),
            "/simple/moved/" => {
                let mut reply = Reply::new(302, "text/plain", "");
                reply.headers.push(("Location", "/same-origin/".into()));
                reply
            }
            _ => {
                let mut reply = Reply::new(302, "text/plain", "");
                reply.headers.push(("Location", target.clone()));
                reply
            }
        });
        let http = client(0);
        let mut with_token = index.url.join("simple/demo/").unwrap();
        with_token.set_username("token").unwrap();
        let response = http.get(Page, &with_token, &[], CAP).unwrap();
        assert_eq!(response.url, elsewhere.url.join("simple/demo/").unwrap());
        http.get(Page, &elsewhere.url.join("files/demo-1.0.tar.gz").unwrap(), &[], CAP).unwrap();
        // A redirect within the origin keeps them, so the check below can see a header.
        http.get(Page, &index.url.join("simple/moved/").unwrap(), &[], CAP).unwrap();

        let authorization =
            |hits: Vec<Hit>| hits.iter().map(|h| h.header("Authorization").is_some()).collect::<Vec<_>>();
        assert_eq!(authorization(index.hits()), [true, true, true], "{:?}", index.hits());
        assert_eq!(authorization(elsewhere.hits()), [false, false], "{:?}", elsewhere.hits());
        assert!(elsewhere.hits().iter().all(|h| h.header("Referer").is_none()), "{:?}", elsewhere.hits());
    }

    #[test]
    fn offline_sends_nothing() {
        let server = TestServer::start(|_, _| Reply::new(200, "text/plain", "ok"));
        let http = HttpClient::new(HttpOptions { offline: true, ..HttpOptions::default() }).unwrap();
        assert!(matches!(http.get(Page, &server.url, &[], CAP), Err(HttpError::Offline { .. })));
        assert!(server.hits().is_empty());
    }

    #[test]
    fn redacts_passwords_and_tokens() {
        let redacted = |s: &str| redact(&Url::parse(s).unwrap());
        for url in [
            "https://user:pw@index.example/simple/",
            "https://token@index.example/simple/",
            "https://TOKEN:@index.example/simple/",
            "https://TOKEN:x-oauth-basic@index.example/simple/",
            "https://us%40er:p%3Aw@index.example/simple/",
        ] {
            assert_eq!(redacted(url), "https://***@index.example/simple/", "{url}");
        }
        assert_eq!(redacted("https://index.example/simple/"), "https://index.example/simple/");
    }

    #[test]
    fn extra_roots_from_a_pem_bundle() {
        let dir = tempfile::tempdir().unwrap();
        let bundle = dir.path().join("bundle.pem");
        std::fs::write(&bundle, format!("# two roots\n{TEST_CA}{TEST_CA}")).unwrap();
        let with =
            |cert: &Path| HttpClient::new(HttpOptions { cert: Some(cert.to_path_buf()), ..HttpOptions::default() });
        assert!(with(&bundle).is_ok());

        let garbage = dir.path().join("garbage.pem");
        std::fs::write(&garbage, "not a certificate").unwrap();
        for path in [garbage, dir.path().join("missing.pem")] {
            let Err(HttpError::Setup(message)) = with(&path) else { panic!("{} accepted", path.display()) };
            assert!(message.contains(&path.display().to_string()), "{message}");
        }
    }

    #[test]
    fn redact_text_hides_credentials_of_every_url() {
        assert_eq!(
            redact_text("pkg @ git+https://ghp_SECRET@git.example/o/r.git and https://u:p@x.example:8080/s?t=1"),
            "pkg @ git+https://***@git.example/o/r.git and https://***@x.example:8080/s?t=1"
        );
        assert_eq!(redact_text("--index-url=https://TOKEN:@h.example/s"), "--index-url=https://***@h.example/s");
        assert_eq!(
            redact_text("mail me@example, see https://x.example/a@b"),
            "mail me@example, see https://x.example/a@b"
        );
    }

    proptest::proptest! {
        /// A `Retry-After` header is the server's text: any value gives a wait or none, and
        /// delay-seconds read as written.
        #[test]
        fn retry_after_never_panics(text in ".{0,40}", seconds in 0u64..1_000_000_000) {
            let _ = parse_retry_after(&text);
            proptest::prop_assert_eq!(parse_retry_after(&seconds.to_string()), Some(Duration::from_secs(seconds)));
        }
    }
}
