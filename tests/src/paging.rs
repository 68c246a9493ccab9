//! A proxy in front of moto that makes its list calls page the way AWS does, and can refuse calls.
//!
//! moto answers `DescribeSecurityGroups` and `ListStackResources` with everything at once and ignores
//! `MaxResults` / `NextToken`, so a client that never follows `NextToken` (the reference's defect) would
//! pass against it. Through this proxy each of those answers carries at most `page_size` items (and never
//! more than `MaxResults`) plus a `NextToken`, as EC2 and CloudFormation may do. It also answers chosen
//! (region, action) pairs with a real AWS error, to test denied calls and regions that are not enabled.
//! Every other request goes to moto unchanged.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The list calls the proxy pages: action, list element, item element, token element.
const PAGED: &[(&str, &str, &str, &str)] = &[
    ("DescribeSecurityGroups", "securityGroupInfo", "item", "nextToken"),
    ("ListStackResources", "StackResourceSummaries", "member", "NextToken"),
];

#[derive(Debug, Default)]
struct Shared {
    /// Pages served, per action.
    pages: HashMap<String, usize>,
    /// (region, action) -> error code to answer with.
    refusals: HashMap<(String, String), String>,
    /// The next N DescribeStacks answers that say DELETE_COMPLETE say DELETE_IN_PROGRESS instead.
    slow_deletions: usize,
}

#[derive(Clone)]
struct Proxy {
    upstream: String,
    page_size: usize,
    shared: Arc<Mutex<Shared>>,
    client: Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
}

/// The running proxy; dropping it stops it.
#[derive(Debug)]
pub struct PagingProxy {
    endpoint: String,
    shared: Arc<Mutex<Shared>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl PagingProxy {
    /// Starts a proxy to `upstream` (moto) serving at most `page_size` items per page.
    pub fn start(upstream: &str, page_size: usize) -> Self {
        let shared = Arc::new(Mutex::new(Shared::default()));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        listener.set_nonblocking(true).expect("nonblocking");
        let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let proxy = Proxy {
            upstream: upstream.trim_end_matches('/').to_string(),
            page_size: page_size.max(1),
            shared: shared.clone(),
            client: Client::builder(TokioExecutor::new()).build_http(),
        };
        let thread = std::thread::spawn(move || {
            let runtime =
                tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
            runtime.block_on(async move {
                let app = Router::new().fallback(forward).with_state(proxy);
                let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = rx.await;
                    })
                    .await
                    .expect("proxy server");
            });
        });
        Self { endpoint, shared, shutdown: Some(tx), thread: Some(thread) }
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Pages served for `action` so far.
    pub fn pages(&self, action: &str) -> usize {
        self.shared.lock().unwrap_or_else(|p| p.into_inner()).pages.get(action).copied().unwrap_or(0)
    }

    /// Answers `action` in `region` with the AWS error `code` from now on.
    pub fn refuse(&self, region: &str, action: &str, code: &str) {
        self.shared
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .refusals
            .insert((region.to_string(), action.to_string()), code.to_string());
    }
}

impl PagingProxy {
    /// Makes the next `times` DescribeStacks answers that report DELETE_COMPLETE report
    /// DELETE_IN_PROGRESS instead: a deletion that takes longer than moto's synchronous one.
    pub fn slow_deletions(&self, times: usize) {
        self.shared.lock().unwrap_or_else(|p| p.into_inner()).slow_deletions = times;
    }
}

impl Drop for PagingProxy {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The region of a SigV4-signed request (`Credential=AKID/date/REGION/service/aws4_request`).
fn signed_region(headers: &HeaderMap) -> Option<(String, String)> {
    let auth = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let scope = auth.split("Credential=").nth(1)?.split(',').next()?;
    let parts: Vec<&str> = scope.split('/').collect();
    Some((parts.get(2)?.to_string(), parts.get(3)?.to_string()))
}

async fn forward(State(proxy): State<Proxy>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let form: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let action = form.iter().find(|(k, _)| k == "Action").map(|(_, v)| v.clone()).unwrap_or_default();
    if let Some((region, service)) = signed_region(&headers) {
        let refusal =
            proxy.shared.lock().unwrap_or_else(|p| p.into_inner()).refusals.get(&(region, action.clone())).cloned();
        if let Some(code) = refusal {
            return aws_error(&service, &code);
        }
    }
    let paged = PAGED.iter().find(|(name, ..)| *name == action).copied();
    let (body, offset, max_results) = match paged {
        Some(_) => {
            let offset =
                form.iter().find(|(k, _)| k == "NextToken").and_then(|(_, v)| v.strip_prefix("page-")?.parse().ok());
            let max = form.iter().find(|(k, _)| k == "MaxResults").and_then(|(_, v)| v.parse::<usize>().ok());
            let mut out = form_urlencoded::Serializer::new(String::new());
            for (k, v) in form.iter().filter(|(k, _)| k != "NextToken" && k != "MaxResults") {
                out.append_pair(k, v);
            }
            (Bytes::from(out.finish()), offset.unwrap_or(0_usize), max)
        }
        None => (body, 0, None),
    };
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut request = hyper::Request::builder().method(method).uri(format!("{}{path}", proxy.upstream));
    for (name, value) in &headers {
        if name != header::CONTENT_LENGTH && name != header::HOST {
            request = request.header(name, value);
        }
    }
    let request = request.header(header::CONTENT_LENGTH, body.len()).body(Full::new(body)).expect("request");
    let response = match proxy.client.request(request).await {
        Ok(response) => response,
        Err(error) => return (StatusCode::BAD_GATEWAY, format!("moto: {error}")).into_response(),
    };
    let (parts, incoming) = response.into_parts();
    let bytes = match incoming.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) => return (StatusCode::BAD_GATEWAY, format!("moto body: {error}")).into_response(),
    };
    let bytes = match paged {
        Some((name, list, item, token)) if parts.status.is_success() => {
            let size = max_results.map_or(proxy.page_size, |m| m.min(proxy.page_size));
            *proxy.shared.lock().unwrap_or_else(|p| p.into_inner()).pages.entry(name.to_string()).or_default() += 1;
            let text = String::from_utf8_lossy(&bytes);
            Bytes::from(page(&text, list, item, token, offset, size))
        }
        _ if action == "DescribeStacks" => {
            let text = String::from_utf8_lossy(&bytes).into_owned();
            let mut shared = proxy.shared.lock().unwrap_or_else(|p| p.into_inner());
            if shared.slow_deletions > 0 && text.contains("<StackStatus>DELETE_COMPLETE</StackStatus>") {
                shared.slow_deletions -= 1;
                Bytes::from(text.replace(
                    "<StackStatus>DELETE_COMPLETE</StackStatus>",
                    "<StackStatus>DELETE_IN_PROGRESS</StackStatus>",
                ))
            } else {
                bytes
            }
        }
        _ => bytes,
    };
    let mut response = Response::builder().status(parts.status);
    for (name, value) in &parts.headers {
        if name != header::CONTENT_LENGTH && name != header::TRANSFER_ENCODING {
            response = response.header(name, value);
        }
    }
    response.body(axum::body::Body::from(bytes)).expect("response")
}

/// An AWS query-protocol error (EC2's and CloudFormation's shapes).
fn aws_error(service: &str, code: &str) -> Response {
    let message = format!("the test proxy refuses this call with {code}");
    let body = if service == "ec2" {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>proxy</RequestID></Response>"
        )
    } else {
        format!(
            "<ErrorResponse xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\"><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>proxy</RequestId></ErrorResponse>"
        )
    };
    (StatusCode::FORBIDDEN, [(header::CONTENT_TYPE, "text/xml")], body).into_response()
}

/// Keeps items `offset..offset+size` of the `<list>` element and adds `<token>` when more remain.
fn page(xml: &str, list: &str, item: &str, token: &str, offset: usize, size: usize) -> String {
    let open = format!("<{list}>");
    let close = format!("</{list}>");
    let (Some(start), Some(end)) = (xml.find(&open), xml.find(&close)) else {
        return xml.to_string();
    };
    let inner = &xml[start + open.len()..end];
    let items = split_items(inner, item);
    let kept: String = items.iter().skip(offset).take(size).copied().collect();
    let next =
        if offset + size < items.len() { format!("<{token}>page-{}</{token}>", offset + size) } else { String::new() };
    format!("{}{open}{kept}{close}{next}{}", &xml[..start], &xml[end + close.len()..])
}

/// The top-level `<item>...</item>` elements of `inner`, nested items included in their parent.
fn split_items<'a>(inner: &'a str, item: &str) -> Vec<&'a str> {
    let open = format!("<{item}>");
    let close = format!("</{item}>");
    let selfclosed = format!("<{item}/>");
    let mut out = Vec::new();
    let mut depth = 0_usize;
    let mut begin = 0;
    let mut i = 0;
    while i < inner.len() {
        let rest = &inner[i..];
        if rest.starts_with(&open) {
            if depth == 0 {
                begin = i;
            }
            depth += 1;
            i += open.len();
        } else if rest.starts_with(&close) {
            depth = depth.saturating_sub(1);
            i += close.len();
            if depth == 0 {
                out.push(&inner[begin..i]);
            }
        } else if rest.starts_with(&selfclosed) {
            if depth == 0 {
                out.push(&inner[i..i + selfclosed.len()]);
            }
            i += selfclosed.len();
        } else {
            i += rest.chars().next().map_or(1, char::len_utf8);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_keep_nested_items_whole() {
        let xml = "<R><securityGroupInfo><item><a><item>1</item></a></item><item>2</item><item>3</item></securityGroupInfo><requestId>x</requestId></R>";
        assert_eq!(
            page(xml, "securityGroupInfo", "item", "nextToken", 0, 2),
            "<R><securityGroupInfo><item><a><item>1</item></a></item><item>2</item></securityGroupInfo><nextToken>page-2</nextToken><requestId>x</requestId></R>"
        );
        assert_eq!(
            page(xml, "securityGroupInfo", "item", "nextToken", 2, 2),
            "<R><securityGroupInfo><item>3</item></securityGroupInfo><requestId>x</requestId></R>"
        );
    }
}
