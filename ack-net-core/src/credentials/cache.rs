//! Caching of expiring credentials: refreshed ahead of expiry, once for all waiting callers.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{Credentials, CredentialsProvider};
use crate::error::Error;

/// The clock a [`CachingProvider`] reads (replaceable in tests).
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The default time before expiry at which credentials are refreshed.
pub const DEFAULT_REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);
/// The default wait after a failed refresh before the next try, while cached credentials
/// are still valid.
pub const DEFAULT_RETRY_AFTER_FAILURE: Duration = Duration::from_secs(10);

#[derive(Clone)]
struct Entry {
    credentials: Credentials,
    /// When to refresh; `None` for credentials that never expire.
    refresh_at: Option<DateTime<Utc>>,
}

impl Entry {
    fn is_fresh(&self, now: DateTime<Utc>) -> bool {
        self.refresh_at.is_none_or(|at| now < at)
    }

    fn is_valid(&self, now: DateTime<Utc>) -> bool {
        self.credentials.expiration().is_none_or(|e| now < e)
    }
}

struct Failure {
    at: DateTime<Utc>,
    /// The attempt number that failed.
    attempt: u64,
    provider: String,
    message: String,
}

/// Wraps a provider of expiring credentials (ECS RAM role, OIDC, your own) and serves its
/// credentials from a cache:
///
/// - credentials are refreshed ahead of their expiry, at `refresh margin` before it (or half
///   way through their lifetime, when that is later: short-lived credentials are not
///   refreshed at every call);
/// - a refresh runs **once** however many callers wait for it: the others wait and then
///   take its result;
/// - when a refresh fails while the cached credentials are still valid, they keep being
///   served (the next try waits `retry after failure`), so a metadata-service blip does not
///   fail calls;
/// - credentials without an expiry are kept forever.
///
/// ```
/// use std::time::Duration;
/// use ack_net_core::credentials::CachingProvider;
/// use ack_net_core::{Credentials, StaticProvider};
/// let provider = CachingProvider::builder(StaticProvider::new(Credentials::new("id", "secret")))
///     .refresh_margin(Duration::from_secs(600))
///     .build();
/// assert!(format!("{provider:?}").contains("CachingProvider"));
/// ```
pub struct CachingProvider<P> {
    inner: P,
    margin: chrono::Duration,
    retry_after_failure: chrono::Duration,
    clock: Clock,
    cached: RwLock<Option<Entry>>,
    /// Held while a refresh runs; holds the last failure.
    flight: tokio::sync::Mutex<Option<Failure>>,
    /// Refresh attempts finished so far.
    attempts: AtomicU64,
}

/// Builds a [`CachingProvider`].
#[must_use]
pub struct CachingProviderBuilder<P> {
    inner: P,
    margin: Duration,
    retry_after_failure: Duration,
    clock: Clock,
}

impl<P: CredentialsProvider> CachingProviderBuilder<P> {
    /// Refresh this long before expiry ([`DEFAULT_REFRESH_MARGIN`], 5 minutes, by default).
    pub fn refresh_margin(mut self, margin: Duration) -> Self {
        self.margin = margin;
        self
    }

    /// After a failed refresh, while cached credentials are still valid, wait this long before
    /// trying again ([`DEFAULT_RETRY_AFTER_FAILURE`] by default).
    pub fn retry_after_failure(mut self, wait: Duration) -> Self {
        self.retry_after_failure = wait;
        self
    }

    /// Replaces the clock (tests).
    pub fn clock(mut self, clock: impl Fn() -> DateTime<Utc> + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The provider.
    pub fn build(self) -> CachingProvider<P> {
        CachingProvider {
            inner: self.inner,
            margin: to_chrono(self.margin),
            retry_after_failure: to_chrono(self.retry_after_failure),
            clock: self.clock,
            cached: RwLock::new(None),
            flight: tokio::sync::Mutex::new(None),
            attempts: AtomicU64::new(0),
        }
    }
}

fn to_chrono(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

impl<P: CredentialsProvider> CachingProvider<P> {
    /// Caches `inner` with the default settings.
    pub fn new(inner: P) -> Self {
        Self::builder(inner).build()
    }

    /// Caches `inner` with settings of your own.
    pub fn builder(inner: P) -> CachingProviderBuilder<P> {
        CachingProviderBuilder {
            inner,
            margin: DEFAULT_REFRESH_MARGIN,
            retry_after_failure: DEFAULT_RETRY_AFTER_FAILURE,
            clock: Arc::new(Utc::now),
        }
    }

    /// The wrapped provider.
    pub fn inner(&self) -> &P {
        &self.inner
    }

    /// Forgets the cached credentials: the next call refreshes (for instance after the API
    /// rejected the token).
    pub fn invalidate(&self) {
        *self.cached.write().unwrap_or_else(PoisonError::into_inner) = None;
    }

    fn entry(&self) -> Option<Entry> {
        self.cached.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn refresh_at(&self, credentials: &Credentials, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let expiration = credentials.expiration()?;
        let ahead = expiration.checked_sub_signed(self.margin).unwrap_or(DateTime::<Utc>::MIN_UTC);
        // Half the remaining lifetime, so credentials shorter-lived than the margin are not
        // refreshed at every call.
        let half_life = if expiration > now { now + (expiration - now) / 2 } else { now };
        Some(ahead.max(half_life))
    }

    async fn refresh(&self, seen: u64) -> Result<Credentials, Error> {
        let mut last_failure = self.flight.lock().await;
        let now = (self.clock)();
        let entry = self.entry();
        if let Some(entry) = entry.as_ref().filter(|e| e.is_fresh(now)) {
            // Another caller refreshed while this one waited.
            return Ok(entry.credentials.clone());
        }
        if let Some(failure) = last_failure.as_ref() {
            let failed_while_waiting = failure.attempt > seen;
            let failed_recently = now < failure.at + self.retry_after_failure;
            if failed_while_waiting || failed_recently {
                if let Some(entry) = entry.as_ref().filter(|e| e.is_valid(now)) {
                    return Ok(entry.credentials.clone());
                }
            }
            if failed_while_waiting {
                // The refresh this caller waited for failed: share its answer rather than
                // queue one more request to a failing service.
                return Err(Error::credentials(failure.provider.clone(), &failure.message));
            }
        }
        let result = self.inner.credentials().await;
        let attempt = self.attempts.fetch_add(1, Ordering::AcqRel) + 1;
        let now = (self.clock)();
        match result {
            Ok(credentials) => {
                let refresh_at = self.refresh_at(&credentials, now);
                tracing::debug!(expiration = ?credentials.expiration(), ?refresh_at, "credentials refreshed");
                *self.cached.write().unwrap_or_else(PoisonError::into_inner) =
                    Some(Entry { credentials: credentials.clone(), refresh_at });
                *last_failure = None;
                Ok(credentials)
            }
            Err(error) => {
                let (provider, message) = match &error {
                    Error::Credentials { provider, message } => (provider.clone(), message.clone()),
                    other => ("cached provider".to_owned(), other.to_string()),
                };
                *last_failure = Some(Failure { at: now, attempt, provider, message });
                match entry.filter(|e| e.is_valid(now)) {
                    Some(entry) => {
                        tracing::warn!(
                            error = %error,
                            expiration = ?entry.credentials.expiration(),
                            "credentials refresh failed; serving the cached credentials until they expire"
                        );
                        Ok(entry.credentials)
                    }
                    None => Err(error),
                }
            }
        }
    }
}

#[async_trait]
impl<P: CredentialsProvider> CredentialsProvider for CachingProvider<P> {
    async fn credentials(&self) -> Result<Credentials, Error> {
        // Read the attempt count before the cache: a refresh that finishes in between then
        // counts as one this caller waited for.
        let seen = self.attempts.load(Ordering::Acquire);
        let now = (self.clock)();
        if let Some(entry) = self.entry().filter(|e| e.is_fresh(now)) {
            return Ok(entry.credentials);
        }
        self.refresh(seen).await
    }

    fn credentials_now(&self) -> Option<Credentials> {
        let now = (self.clock)();
        self.entry().filter(|e| e.is_fresh(now)).map(|e| e.credentials)
    }

    fn use_transport(&self, transport: &Arc<dyn crate::Transport>) {
        self.inner.use_transport(transport);
    }
}

impl<P: fmt::Debug> fmt::Debug for CachingProvider<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let entry = self.cached.read().unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("CachingProvider")
            .field("inner", &self.inner)
            .field("refresh_margin", &self.margin)
            .field("cached_until", &entry.as_ref().map(|e| e.credentials.expiration()))
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::sync::Mutex;

    use chrono::TimeZone;

    use super::*;

    /// Answers from a script, counting calls.
    #[derive(Debug)]
    struct Scripted {
        calls: AtomicUsize,
        answers: Mutex<Vec<Result<Credentials, String>>>,
    }

    impl Scripted {
        fn new(answers: Vec<Result<Credentials, String>>) -> Self {
            Self { calls: AtomicUsize::new(0), answers: Mutex::new(answers) }
        }
    }

    #[async_trait]
    impl CredentialsProvider for Scripted {
        async fn credentials(&self) -> Result<Credentials, Error> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let mut answers = self.answers.lock().unwrap();
            assert!(!answers.is_empty(), "more calls than scripted");
            answers.remove(0).map_err(|m| Error::credentials("scripted", m))
        }
    }

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap()
    }

    fn expiring(id: &str, minutes: i64) -> Credentials {
        Credentials::new(id, "secret").with_expiration(t0() + chrono::Duration::minutes(minutes))
    }

    fn manual_clock() -> (Arc<Mutex<DateTime<Utc>>>, impl Fn() -> DateTime<Utc> + Send + Sync + 'static) {
        let now = Arc::new(Mutex::new(t0()));
        let reader = now.clone();
        (now, move || *reader.lock().unwrap())
    }

    fn set(now: &Mutex<DateTime<Utc>>, minutes: i64) {
        *now.lock().unwrap() = t0() + chrono::Duration::minutes(minutes);
    }

    #[tokio::test]
    async fn never_expiring_credentials_are_fetched_once() {
        let cache = CachingProvider::new(Scripted::new(vec![Ok(Credentials::new("a", "s"))]));
        for _ in 0..5 {
            assert_eq!(cache.credentials().await.unwrap().access_key_id(), "a");
        }
        assert_eq!(cache.inner().calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn refreshes_at_the_margin_before_expiry() {
        let (now, clock) = manual_clock();
        let inner = Scripted::new(vec![Ok(expiring("a", 60)), Ok(expiring("b", 120))]);
        let cache = CachingProvider::builder(inner).refresh_margin(Duration::from_secs(300)).clock(clock).build();
        assert_eq!(cache.credentials().await.unwrap().access_key_id(), "a");
        set(&now, 54);
        assert_eq!(cache.credentials().await.unwrap().access_key_id(), "a");
        assert_eq!(cache.inner().calls.load(Ordering::SeqCst), 1);
        set(&now, 55);
        assert_eq!(cache.credentials().await.unwrap().access_key_id(), "b");
        assert_eq!(cache.inner().calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn short_lived_credentials_are_kept_for_half_their_life() {
        let (now, clock) = manual_clock();
        // 4 minutes of life with a 5-minute margin: refresh at 2 minutes, not at every call.
        let inner = Scripted::new(vec![Ok(expiring("a", 4)), Ok(expiring("b", 60))]);
        let cache = CachingProvider::builder(inner).clock(clock).build();
        assert_eq!(cache.credentials().await.unwrap().access_key_id(), "a");
        set(&now, 1);
        assert_eq!(cache.credentials().await.unwrap().access_key_id(), "a");
        set(&now, 2);
        assert_eq!(cache.credentials().await.unwrap().access_key_id(), "b");
    }

    #[tokio::test]
    async fn failed_refresh_serves_valid_credentials_then_fails_after_expiry() {
        let (now, clock) = manual_clock();
        let inner = Scripted::new(vec![
            Ok(expiring("a", 60)),
            Err("metadata down".into()),
            Err("metadata still down".into()),
            Err("metadata down for good".into()),
        ]);
        let cache = CachingProvider::builder(inner).retry_after_failure(Duration::from_secs(60)).clock(clock).build();
        cache.credentials().await.unwrap();
        set(&now, 56);
        assert_eq!(cache.credentials().await.unwrap().access_key_id(), "a");
        assert_eq!(cache.inner().calls.load(Ordering::SeqCst), 2);
        // Within the retry wait: no new attempt.
        assert_eq!(cache.credentials().await.unwrap().access_key_id(), "a");
        assert_eq!(cache.inner().calls.load(Ordering::SeqCst), 2);
        set(&now, 58);
        assert_eq!(cache.credentials().await.unwrap().access_key_id(), "a");
        assert_eq!(cache.inner().calls.load(Ordering::SeqCst), 3);
        set(&now, 60);
        let e = cache.credentials().await.unwrap_err();
        assert!(e.to_string().contains("down for good"), "{e}");
        assert_eq!(cache.inner().calls.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn invalidate_forces_a_refresh() {
        let inner = Scripted::new(vec![Ok(Credentials::new("a", "s")), Ok(Credentials::new("b", "s"))]);
        let cache = CachingProvider::new(inner);
        assert_eq!(cache.credentials().await.unwrap().access_key_id(), "a");
        cache.invalidate();
        assert_eq!(cache.credentials().await.unwrap().access_key_id(), "b");
    }

    #[tokio::test]
    async fn first_failure_is_returned() {
        let cache = CachingProvider::new(Scripted::new(vec![Err("nope".into()), Ok(Credentials::new("a", "s"))]));
        assert!(cache.credentials().await.is_err());
        // Nothing valid cached: the next call tries again at once.
        assert_eq!(cache.credentials().await.unwrap().access_key_id(), "a");
    }

    #[tokio::test]
    async fn debug_redacts() {
        let cache = CachingProvider::new(StaticSecret);
        cache.credentials().await.unwrap();
        let d = format!("{cache:?}");
        assert!(!d.contains("s3cr3t"), "{d}");
    }

    #[derive(Debug)]
    struct StaticSecret;

    #[async_trait]
    impl CredentialsProvider for StaticSecret {
        async fn credentials(&self) -> Result<Credentials, Error> {
            Ok(Credentials::new("a", "s3cr3t"))
        }
    }
}
