//! Bounded retries of registry requests that are safe to repeat: HEAD and
//! GET, a blob upload by digest (the registry keeps a blob only once it
//! hashes to its digest), a manifest PUT (the same bytes again), the
//! sign-in. A network failure, a body cut short or served wrong, a 5xx, a
//! 408 or a 429 is tried again after a pause that doubles (with jitter) up
//! to a limit; any other answer (a 4xx: credentials, a missing tag) is
//! final at once. The final error is the last one, with the number of
//! attempts. A pulled blob cut short is asked again from where it stopped
//! (pull keeps what came, in memory, and verifies the whole before it is
//! written).

use std::future::Future;
use std::time::{Duration, Instant};

use super::RegistryError;

/// How often and how long a request is tried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all (1: no retry).
    pub attempts: u32,
    /// The first pause; each next one doubles.
    pub first_pause: Duration,
    /// The longest pause.
    pub max_pause: Duration,
    /// No attempt starts after this much time since the first.
    pub budget: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 6,
            first_pause: Duration::from_millis(100),
            max_pause: Duration::from_secs(4),
            budget: Duration::from_secs(60),
        }
    }
}

/// Whether `e` may go away if the request is sent again.
pub(crate) fn transient(e: &RegistryError) -> bool {
    match e {
        RegistryError::Status { status, .. } => *status >= 500 || *status == 408 || *status == 429,
        // Not when the failure is the transport itself (TLS to a plain
        // HTTP registry): the hint says what to do instead.
        RegistryError::Failed { reason, .. } => !reason.contains("--insecure"),
        RegistryError::Corrupt { .. } => true,
        _ => false,
    }
}

/// Runs `op` until it succeeds, fails for good, or the policy is spent.
pub(crate) async fn retry<T, F, Fut>(policy: &RetryPolicy, mut op: F) -> Result<T, RegistryError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, RegistryError>>,
{
    let start = Instant::now();
    let mut pause = policy.first_pause;
    let mut attempt = 1;
    loop {
        match op().await {
            Ok(v) => return Ok(v),
            Err(e) => {
                let wait = pause + jitter(pause);
                if !transient(&e) || attempt >= policy.attempts || start.elapsed() + wait > policy.budget {
                    return Err(if attempt > 1 {
                        RegistryError::Retried {
                            attempts: attempt,
                            last: Box::new(e),
                        }
                    } else {
                        e
                    });
                }
                tokio::time::sleep(wait).await;
                pause = (pause * 2).min(policy.max_pause);
                attempt += 1;
            }
        }
    }
}

/// Up to half of `pause`, so that clients that failed together do not
/// retry together.
fn jitter(pause: Duration) -> Duration {
    use std::hash::{BuildHasher, Hasher};
    // Each RandomState has keys of its own: the hash of a fixed value is a
    // fresh random number.
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(pause.as_nanos());
    let half = pause.as_nanos() as u64 / 2;
    Duration::from_nanos(if half == 0 { 0 } else { h.finish() % half })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: u16) -> RegistryError {
        RegistryError::Status {
            registry: "r".into(),
            repository: "x".into(),
            what: "blob".into(),
            status,
            message: String::new(),
        }
    }

    fn quick(attempts: u32) -> RetryPolicy {
        RetryPolicy {
            attempts,
            first_pause: Duration::from_millis(1),
            max_pause: Duration::from_millis(2),
            budget: Duration::from_secs(5),
        }
    }

    fn run<T>(f: impl Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn transient_failures_are_retried_until_one_succeeds() {
        let mut calls = 0;
        let r = run(retry(&quick(5), || {
            calls += 1;
            let n = calls;
            async move {
                if n < 3 {
                    Err(status(503))
                } else {
                    Ok(n)
                }
            }
        }));
        assert_eq!(r.unwrap(), 3);
    }

    #[test]
    fn a_4xx_is_final_and_a_spent_policy_says_how_often_it_tried() {
        let mut calls = 0;
        let r: Result<(), _> = run(retry(&quick(5), || {
            calls += 1;
            async { Err(status(404)) }
        }));
        assert_eq!(calls, 1);
        assert!(matches!(r, Err(RegistryError::Status { status: 404, .. })));
        let mut calls = 0;
        let r: Result<(), _> = run(retry(&quick(4), || {
            calls += 1;
            async { Err(status(500)) }
        }));
        assert_eq!(calls, 4);
        let e = r.unwrap_err();
        assert!(e.to_string().ends_with("(gave up after 4 attempts)"), "{e}");
        assert!(e.to_string().contains("HTTP 500"), "{e}");
    }
}
