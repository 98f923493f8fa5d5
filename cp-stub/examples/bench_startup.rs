//! Startup-to-ready prober of `bench/cp-stub.sh`: exec of a server to its
//! first `200` on `GET /healthz`, median over N runs, commands alternated.
//!
//! ```text
//! taskset -c 1 bench_startup --runs 31 --server-cpu 0 --port 19400 \
//!     'minimal=target/release/examples/bench_minimal 127.0.0.1:{port}' \
//!     'cp-stub=target/release/cp-stub --port {port} --log-format off'
//! ```
//!
//! Prints one JSON object per command: `{"name", "median_ms", "min_ms",
//! "max_ms", "runs_ms": [...]}`.
//!
//! The measurement itself must cost next to nothing, or it is what gets
//! measured:
//!
//! - the server is spawned by a dedicated thread pinned to `--server-cpu`
//!   (`taskset -p` on that thread, once, before any run), so the server
//!   starts on its core with no `taskset` exec in the timed window; the
//!   clock starts right before the spawn, in that thread;
//! - the main thread (start the prober on another core) retries
//!   `connect` every ~50 µs — a refused connect is a few µs — and, once
//!   connected, sends `GET /healthz` and stops the clock when a `200`
//!   arrives;
//! - every run uses a fresh port and kills the server (SIGKILL) after.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

struct Spawn {
    argv: Vec<String>,
    reply: mpsc::Sender<std::io::Result<(Instant, Child)>>,
}

fn usage() -> ! {
    eprintln!("usage: bench_startup [--runs N] [--server-cpu C] [--port P] 'name=command with {{port}}'...");
    std::process::exit(2)
}

fn main() {
    let mut runs = 21usize;
    let mut server_cpu: Option<String> = None;
    let mut base_port = 19400u16;
    let mut commands: Vec<(String, String)> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => {
                runs = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| usage())
            }
            "--server-cpu" => server_cpu = Some(args.next().unwrap_or_else(|| usage())),
            "--port" => {
                base_port = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| usage())
            }
            spec => match spec.split_once('=') {
                Some((name, cmd)) => commands.push((name.to_string(), cmd.to_string())),
                None => usage(),
            },
        }
    }
    if commands.is_empty() || runs == 0 {
        usage();
    }

    // The spawner thread: pinned to the server's core, it only spawns.
    let (to_spawner, jobs) = mpsc::channel::<Spawn>();
    let (tid_tx, tid_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let tid = std::fs::read_link("/proc/thread-self")
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()));
        let _ = tid_tx.send(tid);
        for job in jobs {
            let (program, rest) = job.argv.split_first().unwrap_or_else(|| usage());
            let t0 = Instant::now();
            let child = Command::new(program)
                .args(rest)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .spawn();
            let _ = job.reply.send(child.map(|c| (t0, c)));
        }
    });
    let tid = tid_rx.recv().ok().flatten();
    if let Some(cpu) = &server_cpu {
        let Some(tid) = tid else {
            eprintln!("bench_startup: cannot read /proc/thread-self to pin the spawner thread");
            std::process::exit(2)
        };
        let ok = Command::new("taskset")
            .args(["-p", "-c", cpu, &tid])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("bench_startup: `taskset -p -c {cpu} {tid}` failed");
            std::process::exit(2)
        }
    }

    let mut times: Vec<Vec<f64>> = vec![Vec::new(); commands.len()];
    let mut port = base_port;
    for run in 0..runs {
        let order: Vec<usize> = if run % 2 == 0 {
            (0..commands.len()).collect()
        } else {
            (0..commands.len()).rev().collect()
        };
        for i in order {
            port = port.wrapping_add(1).max(1024);
            let argv: Vec<String> = commands[i]
                .1
                .split_whitespace()
                .map(|a| a.replace("{port}", &port.to_string()))
                .collect();
            let (reply, answer) = mpsc::channel();
            if to_spawner.send(Spawn { argv, reply }).is_err() {
                eprintln!("bench_startup: the spawner thread is gone");
                std::process::exit(1)
            }
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            let ready = wait_ready(addr);
            let (t0, mut child) = match answer.recv() {
                Ok(Ok(spawned)) => spawned,
                Ok(Err(e)) => {
                    eprintln!("bench_startup: cannot start {}: {e}", commands[i].0);
                    std::process::exit(1)
                }
                Err(_) => std::process::exit(1),
            };
            let _ = child.kill();
            let _ = child.wait();
            match ready {
                Some(t1) => times[i].push(t1.duration_since(t0).as_secs_f64() * 1000.0),
                None => {
                    eprintln!(
                        "bench_startup: {} was not ready within 10 s on port {port}",
                        commands[i].0
                    );
                    std::process::exit(1)
                }
            }
        }
    }
    for ((name, _), mut ms) in commands.iter().zip(times) {
        let runs_ms = format!("{ms:?}");
        ms.sort_by(f64::total_cmp);
        let median = if ms.len() % 2 == 1 {
            ms[ms.len() / 2]
        } else {
            (ms[ms.len() / 2 - 1] + ms[ms.len() / 2]) / 2.0
        };
        println!(
            "{{\"name\":\"{name}\",\"median_ms\":{median:.3},\"min_ms\":{:.3},\"max_ms\":{:.3},\"runs_ms\":{runs_ms}}}",
            ms[0],
            ms[ms.len() - 1]
        );
    }
}

/// Retry until `GET /healthz` answers 200; the instant it did.
fn wait_ready(addr: SocketAddr) -> Option<Instant> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(mut stream) = TcpStream::connect(addr) {
            let _ = stream.set_nodelay(true);
            let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
            if stream
                .write_all(b"GET /healthz HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n")
                .is_ok()
            {
                let mut head = [0u8; 12];
                if stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 200") {
                    return Some(Instant::now());
                }
            }
        }
        std::thread::sleep(Duration::from_micros(50));
    }
    None
}
