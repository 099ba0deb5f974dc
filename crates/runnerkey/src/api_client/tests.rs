//! The client on plain HTTP against loopback servers: framing, keep-alive,
//! a connection closed while idle, and the size limits.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::*;

/// Reads one request (head and Content-Length body).
fn read_request(reader: &mut BufReader<TcpStream>) -> Option<String> {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        head.push_str(&line);
        if line == "\r\n" {
            break;
        }
    }
    let len = head
        .lines()
        .find_map(|l| {
            l.strip_prefix("content-length: ")
                .or_else(|| l.strip_prefix("Content-Length: "))
        })
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some(head)
}

/// A server answering each request on a connection with `answers` in turn
/// (then closing it); counts connections.
fn serve(answers: Vec<Vec<u8>>, connections: usize) -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    std::thread::spawn(move || {
        for _ in 0..connections {
            let Ok((stream, _)) = listener.accept() else {
                return;
            };
            count.fetch_add(1, Ordering::SeqCst);
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut writer = stream;
            for answer in &answers {
                if read_request(&mut reader).is_none() {
                    break;
                }
                let _ = writer.write_all(answer);
            }
        }
    });
    (port, accepted)
}

fn client(port: u16) -> ApiClient {
    let endpoint = Endpoint::parse(&format!("http://127.0.0.1:{port}/prefix")).unwrap();
    ApiClient::new(
        endpoint,
        &[],
        Credentials::Anonymous,
        Duration::from_secs(5),
    )
    .unwrap()
}

fn ok(body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[test]
fn requests_share_one_connection_and_chunked_bodies_are_read() {
    let chunked = b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\n".to_vec();
    let (port, accepted) = serve(vec![ok("{\"v\":1}"), chunked, ok("x")], 1);
    let c = client(port);
    let first = c.request("GET", "/version", None).unwrap();
    assert_eq!(
        (first.status, first.json("v").unwrap()["v"].as_i64()),
        (200, Some(1))
    );
    let second = c
        .request("POST", "/apis/x", Some(&serde_json::json!({"k": "v"})))
        .unwrap();
    assert_eq!(
        (second.status, second.json("a").unwrap()["a"].as_i64()),
        (201, Some(1))
    );
    assert_eq!(c.request("GET", "/z", None).unwrap().body, b"x");
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}

#[test]
fn a_connection_closed_while_idle_is_opened_again() {
    // Each connection answers one request, then the server closes it.
    let (port, accepted) = serve(vec![ok("1")], 3);
    let c = client(port);
    assert_eq!(c.request("GET", "/a", None).unwrap().body, b"1");
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(c.request("GET", "/b", None).unwrap().body, b"1");
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
}

#[test]
fn oversized_and_broken_answers_are_refused() {
    let big_body = format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
        MAX_RESPONSE_BODY + 1
    )
    .into_bytes()
    .into_iter()
    .chain(std::iter::repeat_n(b'a', MAX_RESPONSE_BODY + 1))
    .collect();
    let (port, _) = serve(vec![big_body], 1);
    assert!(matches!(
        client(port).request("GET", "/", None),
        Err(TransportError::TooLarge(_))
    ));

    let big_head = format!(
        "HTTP/1.1 200 OK\r\nX-Big: {}\r\nContent-Length: 0\r\n\r\n",
        "b".repeat(MAX_RESPONSE_HEAD)
    )
    .into_bytes();
    let (port, _) = serve(vec![big_head], 1);
    let err = client(port).request("GET", "/", None);
    assert!(matches!(err, Err(TransportError::TooLarge(_))), "{err:?}");

    let (port, _) = serve(vec![b"SSH-2.0-OpenSSH_9.6\r\n\r\n".to_vec()], 1);
    let err = client(port).request("GET", "/", None).unwrap_err();
    assert!(
        matches!(err, TransportError::NotTls(_) | TransportError::Io(_)),
        "{err:?}"
    );
}

#[test]
fn the_path_prefix_and_bearer_token_are_sent() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let head = read_request(&mut reader).unwrap();
        let mut w = stream;
        w.write_all(&ok("")).unwrap();
        head
    });
    let endpoint = Endpoint::parse(&format!("http://127.0.0.1:{port}/k8s/")).unwrap();
    let c = ApiClient::new(
        endpoint,
        &[],
        Credentials::BearerToken("t0ken".into()),
        Duration::from_secs(5),
    )
    .unwrap();
    c.request("GET", "/version", None).unwrap();
    let head = seen.join().unwrap();
    let lower = head.to_ascii_lowercase();
    assert!(head.starts_with("GET /k8s/version HTTP/1.1\r\n"), "{head}");
    assert!(lower.contains("authorization: bearer t0ken"), "{head}");
    assert!(lower.contains("accept: application/json"), "{head}");
}

#[test]
fn the_user_agent_names_runnerkey_its_version_and_purpose() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let head = read_request(&mut reader).unwrap();
        let mut writer = stream;
        let _ = writer.write_all(&ok("{}"));
        head
    });
    let c = client(port).purpose("doctor");
    c.request("GET", "/version", None).unwrap();
    let head = seen.join().unwrap().to_ascii_lowercase();
    let agents: Vec<&str> = head
        .lines()
        .filter(|l| l.starts_with("user-agent:"))
        .collect();
    assert_eq!(
        agents,
        [format!(
            "user-agent: runnerkey/{} (doctor)",
            env!("CARGO_PKG_VERSION")
        )
        .as_str()]
    );
}

/// A server whose first connection answers one request, then reads the
/// next and closes without answering (a server that closed a kept-alive
/// connection as the request arrived); later connections answer every
/// request. Returns the requests it read (method and path), in order.
fn serve_dropping_the_second() -> (u16, Arc<std::sync::Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for n in 0.. {
            let Ok((stream, _)) = listener.accept() else {
                return;
            };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut writer = stream;
            let mut answered = 0;
            while let Some(head) = read_request(&mut reader) {
                let line = head.lines().next().unwrap_or("");
                let request: Vec<&str> = line.split(' ').take(2).collect();
                log.lock().unwrap().push(request.join(" "));
                if n == 0 && answered == 1 {
                    break;
                }
                let _ = writer.write_all(&ok("{}"));
                answered += 1;
            }
        }
    });
    (port, seen)
}

#[test]
fn only_idempotent_requests_are_sent_again_after_a_reused_connection_fails() {
    for (method, again) in [
        ("GET", true),
        ("HEAD", true),
        ("POST", false),
        ("PUT", false),
        ("PATCH", false),
        ("DELETE", false),
    ] {
        let (port, seen) = serve_dropping_the_second();
        let c = client(port);
        c.request("GET", "/first", None).unwrap();
        let body = (method != "GET" && method != "HEAD").then(|| serde_json::json!({}));
        let result = c.request(method, "/second", body.as_ref());
        let requests = seen.lock().unwrap().clone();
        let second = format!("{method} /prefix/second");
        let sent = requests.iter().filter(|r| **r == second).count();
        if again {
            assert!(result.is_ok(), "{method}: {result:?}");
            assert_eq!(sent, 2, "{method}: {requests:?}");
        } else {
            assert!(
                matches!(result, Err(TransportError::Io(_))),
                "{method}: {result:?}"
            );
            assert_eq!(sent, 1, "{method} was sent again: {requests:?}");
        }
    }
}

#[test]
fn an_https_host_answered_by_plain_http_is_not_tls() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        if let Ok((mut s, _)) = listener.accept() {
            let _ = s.read(&mut [0u8; 1024]);
            let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
        }
    });
    let endpoint = Endpoint::parse(&format!("https://127.0.0.1:{port}")).unwrap();
    let c = ApiClient::new(
        endpoint,
        &[],
        Credentials::Anonymous,
        Duration::from_secs(5),
    )
    .unwrap();
    let err = c.request("GET", "/version", None).unwrap_err();
    assert!(matches!(err, TransportError::NotTls(_)), "{err:?}");
}

#[test]
fn a_body_that_is_not_json_is_an_error_naming_the_request() {
    let (port, _) = serve(vec![ok("<html>proxy error</html>")], 1);
    let r = client(port).request("GET", "/version", None).unwrap();
    let e = r.json("the server's version").unwrap_err();
    assert_eq!(e.request, "GET /version");
    assert!(
        e.to_string().contains("expected the server's version"),
        "{e}"
    );
}

/// `c` going through `proxy` (the environment is not touched: tests run
/// in parallel).
fn through(c: ApiClient, proxy: &str) -> ApiClient {
    let d = &c.dialer;
    let proxy = crate::proxy::ProxyConfig {
        https_proxy: None,
        http_proxy: Some(proxy.into()),
        no_proxy: String::new(),
    }
    .proxy_for(false, "10.0.0.1", 80);
    let dialer = Arc::new(dial::Dialer {
        endpoint: d.endpoint.clone(),
        verifier: d.verifier.clone(),
        config: d.config.clone(),
        timeout: d.timeout,
        deadline: d.deadline,
        proxy,
        opened: AtomicUsize::new(0),
    });
    let agent =
        ureq::Agent::with_parts(c.agent.config().clone(), Connect(dialer.clone()), NoResolve);
    ApiClient { dialer, agent, ..c }
}

/// A proxy that reads one CONNECT, checks its target, sends `answer`,
/// then, when `serve` is set, answers the request that comes through the
/// tunnel itself.
fn proxy(answer: &'static [u8], target_port: u16, serve: bool) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let Ok((stream, _)) = listener.accept() else {
            return;
        };
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut writer = stream;
        let head = read_request(&mut reader).unwrap_or_default();
        let expected = format!("CONNECT 127.0.0.1:{target_port} HTTP/1.1\r\n");
        if !head.starts_with(&expected) {
            return;
        }
        let _ = writer.write_all(answer);
        if serve && read_request(&mut reader).is_some() {
            let _ = writer.write_all(&ok("{\"through\":true}"));
        }
    });
    port
}

#[test]
fn requests_go_through_a_proxys_tunnel_and_its_refusals_are_named() {
    // The API server is never reached directly: the proxy answers for it.
    let target = 9;
    let opened = proxy(b"HTTP/1.1 200 Connection established\r\n\r\n", target, true);
    let c = through(client(target), &format!("http://127.0.0.1:{opened}"));
    let r = c.request("GET", "/version", None).unwrap();
    assert_eq!(r.json("x").unwrap()["through"], serde_json::json!(true));

    let refusing = proxy(
        b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 4\r\n\r\nnope",
        target,
        false,
    );
    let c = through(client(target), &format!("http://127.0.0.1:{refusing}"));
    match c.request("GET", "/version", None) {
        Err(TransportError::Proxy(m)) => {
            assert!(m.contains("refused the tunnel") && m.contains("407"), "{m}");
        }
        other => panic!("{other:?}"),
    }

    let garbage = proxy(b"HTTP/1.1 200 OK\r\nno header here\r\n\r\n", target, false);
    let c = through(client(target), &format!("http://127.0.0.1:{garbage}"));
    let err = c.request("GET", "/version", None).unwrap_err();
    assert!(matches!(err, TransportError::Proxy(_)), "{err:?}");
}

#[test]
fn a_server_certificate_problem_reads_as_a_sentence() {
    for problem in [
        ServerCertProblem::UnknownIssuer,
        ServerCertProblem::NotValidForName,
        ServerCertProblem::Expired,
        ServerCertProblem::NotYetValid,
    ] {
        let detail = TransportError::ServerCert {
            problem: problem.clone(),
            chain: Vec::new(),
        }
        .detail();
        assert!(!detail.contains(&format!("{problem:?}")), "{detail}");
        assert!(detail.starts_with("the server's certificate"), "{detail}");
    }
    let failure = TransportError::Timeout("no answer".into()).failure();
    assert_eq!(failure.kind, crate::TransportFailureKind::Timeout);
}

#[test]
fn timeouts_from_public_fields_cannot_overflow_a_deadline() {
    let endpoint = Endpoint::parse("http://127.0.0.1:1").unwrap();
    let client = ApiClient::with_deadline(
        endpoint,
        &[],
        Credentials::Anonymous,
        Duration::MAX,
        Duration::MAX,
    );
    assert!(client.is_ok());
}
