//! The request budget: however many calls are made at once, at most N requests reach the HTTP
//! connector together, and every call completes.
#![expect(clippy::unwrap_used, reason = "test code")]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_credential_types::Credentials;
use aws_sdk_sts::config::{BehaviorVersion, Region};
use aws_smithy_runtime_api::client::http::{
    HttpConnector, HttpConnectorFuture, SharedHttpConnector, http_client_fn,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use headroom_collector::budget::Budgeted;

/// Answers `GetCallerIdentity` after a short delay, counting requests in flight.
#[derive(Debug, Default)]
struct SlowSts {
    in_flight: AtomicUsize,
    peak: AtomicUsize,
    served: AtomicUsize,
}

#[derive(Debug, Clone)]
struct Connector(Arc<SlowSts>);

impl HttpConnector for Connector {
    fn call(&self, _request: HttpRequest) -> HttpConnectorFuture {
        let sts = Arc::clone(&self.0);
        HttpConnectorFuture::new(async move {
            let now = sts.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            sts.peak.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            sts.in_flight.fetch_sub(1, Ordering::SeqCst);
            sts.served.fetch_add(1, Ordering::SeqCst);
            Ok(HttpResponse::new(
                StatusCode::try_from(200).unwrap(),
                SdkBody::from(
                    "<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::111111111111:user/a</Arn><UserId>AIDA</UserId><Account>111111111111</Account></GetCallerIdentityResult></GetCallerIdentityResponse>",
                ),
            ))
        })
    }
}

#[tokio::test]
async fn at_most_n_requests_are_in_flight() {
    let sts = Arc::new(SlowSts::default());
    let connector = Connector(Arc::clone(&sts));
    let inner = http_client_fn(move |_, _| SharedHttpConnector::new(connector.clone()));
    let config = aws_sdk_sts::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("a", "b", None, None, "test"))
        .http_client(Budgeted::new(inner, 3).shared())
        .build();
    let client = aws_sdk_sts::Client::from_conf(config);
    let calls = (0..12).map(|_| client.get_caller_identity().send());
    let results = futures::future::join_all(calls).await;
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(sts.served.load(Ordering::SeqCst), 12);
    assert_eq!(
        sts.peak.load(Ordering::SeqCst),
        3,
        "the budget is full, never over"
    );
}
