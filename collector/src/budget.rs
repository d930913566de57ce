//! One request budget shared by every account, region and service: at most N HTTP requests in
//! flight at once, whatever the fan-out above.
//!
//! The budget wraps the SDK's HTTP client, so it counts what costs time and what AWS rate
//! limits, requests on the wire: a task waiting for a permit holds none, and a retry waits for
//! a permit again after its back-off. The engine above may fan out freely (every region and
//! service of every account in flight at once); the budget alone decides how many requests
//! run. Permits are granted in request order (tokio's semaphore is fair).
//!
//! A request waits for its permit after the SDK has started the attempt, so `cli.rs` turns
//! off the SDK's upload stall protection: it would take a wait of more than its 5 s grace
//! period for a stalled upload and retry the call (measured: 456 needless retries in 1,365
//! calls at 500 ms per request, 44 s instead of 31 s). Downloads stay protected.
//!
//! The client it wraps is the SDK's default HTTPS client, built here the way aws-config
//! builds it (hyper 1 with rustls on aws-lc, proxy settings from the environment): aws-config
//! only makes that client inside each service client, where nothing can wrap it.

use std::sync::Arc;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use tokio::sync::Semaphore;

/// The SDK's default HTTPS client.
pub fn default_https_client() -> SharedHttpClient {
    use aws_smithy_http_client::proxy::ProxyConfig;
    use aws_smithy_http_client::{Builder, ConnectorBuilder, tls};
    Builder::new().build_with_connector_fn(move |settings, runtime_components| {
        let mut connector = ConnectorBuilder::default().tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::AwsLc,
        ));
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = runtime_components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    })
}

/// An HTTP client that lets at most `permits` requests through at once.
#[derive(Debug, Clone)]
pub struct Budgeted {
    inner: SharedHttpClient,
    permits: Arc<Semaphore>,
}

impl Budgeted {
    /// Wraps `inner` with a budget of `permits` requests in flight (at least 1).
    pub fn new(inner: SharedHttpClient, permits: usize) -> Self {
        Self {
            inner,
            permits: Arc::new(Semaphore::new(permits.max(1))),
        }
    }

    /// As a client the SDK takes.
    pub fn shared(self) -> SharedHttpClient {
        SharedHttpClient::new(self)
    }
}

impl HttpClient for Budgeted {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(BudgetedConnector {
            inner: self.inner.http_connector(settings, components),
            permits: Arc::clone(&self.permits),
        })
    }

    fn connector_metadata(
        &self,
    ) -> Option<aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata> {
        self.inner.connector_metadata()
    }
}

#[derive(Debug)]
struct BudgetedConnector {
    inner: SharedHttpConnector,
    permits: Arc<Semaphore>,
}

impl HttpConnector for BudgetedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let inner = self.inner.clone();
        let permits = Arc::clone(&self.permits);
        HttpConnectorFuture::new(async move {
            // The semaphore is never closed, so acquiring cannot fail; if it ever did, the
            // request would simply go through unbudgeted.
            let _permit = permits.acquire_owned().await.ok();
            inner.call(request).await
        })
    }
}
