//! The cp-harness images under the crate's Docker driver. See the crate docs
//! (src/lib.rs) for what is checked and what is needed (Docker +
//! `docker/build-images.sh`).
//!
//! A libtest-mimic harness (`harness = false`): each test checks Docker and
//! its images when it runs, and shows as `ignored` with the reason under
//! `CP_HARNESS_SKIP_DOCKER=1` when they are missing (fails otherwise).

use std::future::Future;
use std::io::Write;
use std::sync::Once;
use std::time::{Duration, Instant};

use containers_tests::docker::output as docker_output;
use containers_tests::{unique_name, Container, ContainerSpec, DockerError, Network, Wait};
use contract::admin::{StubState, VersionInfo, ADMIN_PREFIX};
use libtest_mimic::{Arguments, Completion, Failed, Trial};
use serde_json::{json, Value};

/// Set to `1` to have the tests show as ignored (with the reason) when
/// Docker or the images are missing.
const SKIP_VAR: &str = "CP_HARNESS_SKIP_DOCKER";
const STUB_PORT: u16 = 9090;
const TENANT_PORT: u16 = 8080;
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

// ------------------------------------------------------------------ preflight

/// The image reference (`name:tag`) from `var`, else `default`.
fn image_ref(var: &str, default: &str) -> String {
    std::env::var(var)
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| default.to_string())
}

fn stub_image() -> String {
    image_ref("CP_STUB_IMAGE", "cp-harness/cp-stub:local")
}

fn tenant_image() -> String {
    image_ref("TENANT_DOUBLE_IMAGE", "cp-harness/tenant-double:local")
}

/// What keeps the tests from running: Docker does not answer or an image
/// is not present locally (so nothing is ever pulled).
fn missing(images: &[String]) -> Option<String> {
    match docker_output(&["info", "--format", "{{.ServerVersion}}"]) {
        Err(e) => Some(e.to_string()),
        Ok(out) if !out.status.success() => Some(format!(
            "the Docker engine does not answer (`docker info`: {})",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Ok(_) => images.iter().find_map(|reference| {
            let present = docker_output(&["image", "inspect", "--format", "{{.Id}}", reference])
                .is_ok_and(|o| o.status.success());
            (!present)
                .then(|| format!("the image {reference} is not built (these tests never pull)"))
        }),
    }
}

/// Run the test when Docker and `images` are there. Otherwise: ignored
/// with the reason under `CP_HARNESS_SKIP_DOCKER=1` (and a banner on
/// stderr), else a failure naming the fix.
fn preflight(images: &[String]) -> Result<Option<Completion>, Failed> {
    let Some(problem) = missing(images) else {
        return Ok(None);
    };
    if std::env::var(SKIP_VAR).is_ok_and(|v| v == "1") {
        static BANNER: Once = Once::new();
        BANNER.call_once(|| {
            let _ = writeln!(
                std::io::stderr(),
                "\n!!!! containers-tests SKIPPED ({SKIP_VAR}=1): {problem}\n\
                 !!!! the images were NOT tested; run docker/build-images.sh with Docker up to test them\n"
            );
        });
        // The summary line gets the gist; the banner has the details.
        let gist = problem.split(" (").next().unwrap_or(&problem);
        return Ok(Some(Completion::ignored_with(format!(
            "{SKIP_VAR}=1: {gist}"
        ))));
    }
    Err(format!(
        "{problem}.\n\
         Fix: start Docker, then run `docker/build-images.sh` (builds the images from this \
         checkout with no registry), then rerun the tests.\n\
         To skip the container tests instead, set {SKIP_VAR}=1."
    )
    .into())
}

/// A trial that needs `images`: preflight, then `test` on its own Tokio
/// runtime (as `#[tokio::test]` would).
fn trial<F>(name: &str, images: fn() -> Vec<String>, test: fn() -> F) -> Trial
where
    F: Future<Output = ()> + 'static,
{
    Trial::ignorable_test(name, move || {
        if let Some(skipped) = preflight(&images())? {
            return Ok(skipped);
        }
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime")
            .block_on(test());
        Ok(Completion::Completed)
    })
}

fn stub_only() -> Vec<String> {
    vec![stub_image()]
}

/// Docker only.
fn no_images() -> Vec<String> {
    Vec::new()
}

fn stub_and_tenant() -> Vec<String> {
    vec![stub_image(), tenant_image()]
}

fn main() {
    let args = Arguments::from_args();
    let trials = vec![
        trial(
            "stub_image_starts_healthy_and_serves_this_checkouts_contract",
            stub_only,
            stub_image_starts_healthy_and_serves_this_checkouts_contract,
        ),
        trial(
            "stub_in_container_answers_every_contract_route",
            stub_only,
            stub_in_container_answers_every_contract_route,
        ),
        trial(
            "stub_is_reachable_by_name_from_another_container",
            stub_only,
            stub_is_reachable_by_name_from_another_container,
        ),
        trial(
            "stub_is_configured_through_the_environment",
            stub_only,
            stub_is_configured_through_the_environment,
        ),
        trial(
            "stub_rejects_a_bad_setting_with_exit_code_2",
            stub_only,
            stub_rejects_a_bad_setting_with_exit_code_2,
        ),
        trial(
            "stub_stops_on_sigterm_within_two_seconds",
            stub_only,
            stub_stops_on_sigterm_within_two_seconds,
        ),
        trial(
            "an_absent_image_is_never_pulled",
            no_images,
            an_absent_image_is_never_pulled,
        ),
        trial(
            "tenant_double_provisions_through_the_stub_container_by_name",
            stub_and_tenant,
            tenant_double_provisions_through_the_stub_container_by_name,
        ),
    ];
    libtest_mimic::run(&args, trials).exit();
}

// ------------------------------------------------------------------ helpers

/// The stub image with its port published, waiting until Docker reports
/// it healthy (its own HEALTHCHECK: `/cp-stub healthcheck`).
fn stub_request() -> ContainerSpec {
    ContainerSpec::new(stub_image())
        .publish(STUB_PORT)
        .wait(Wait::Healthy)
        .startup_timeout(STARTUP_TIMEOUT)
}

fn tenant_request() -> ContainerSpec {
    ContainerSpec::new(tenant_image())
        .publish(TENANT_PORT)
        .wait(Wait::Healthy)
        .startup_timeout(STARTUP_TIMEOUT)
}

/// Start `spec`; a failure names the container's state and log tail.
fn start(spec: ContainerSpec, what: &str) -> Container {
    spec.run()
        .unwrap_or_else(|e| panic!("{what} container starts: {e}"))
}

/// `http://127.0.0.1:<published port>` of `port` in the container.
fn base_url(container: &Container, port: u16) -> String {
    container
        .base_url(port)
        .unwrap_or_else(|e| panic!("the container port is published: {e}"))
}

fn network() -> Network {
    Network::create().unwrap_or_else(|e| panic!("docker network create: {e}"))
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("reqwest client")
}

/// Status and JSON body (`Value::Null` when empty, a string when not JSON).
async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.expect("request reaches the container");
    let status = response.status().as_u16();
    let text = response.text().await.expect("response body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, body)
}

async fn get_json(url: &str) -> (u16, Value) {
    send(client().get(url)).await
}

async fn stub_state(base: &str) -> StubState {
    let (status, body) = get_json(&format!("{base}{ADMIN_PREFIX}/state")).await;
    assert_eq!(status, 200, "GET /__/stub/state: {body}");
    serde_json::from_value(body).expect("/__/stub/state is a contract::admin::StubState")
}

async fn provision(base: &str, org: &str, workspace_id: &str) -> (u16, Value) {
    let route = contract::route(contract::RouteId::Provision);
    let body = contract::example_request(route, org, workspace_id).expect("provision takes a body");
    send(client().post(format!("{base}{}", route.path)).json(&body)).await
}

/// Stop with a 2 s grace time and return the exit code: 0 when the binary
/// handled SIGTERM and exited in time, 137 when Docker had to SIGKILL it.
fn stop_within_two_seconds(container: &Container) -> i64 {
    let started = Instant::now();
    let code = container
        .stop(Duration::from_secs(2))
        .unwrap_or_else(|e| panic!("docker stop: {e}"));
    eprintln!("stopped in {:?} with exit code {code}", started.elapsed());
    code
}

// ------------------------------------------------------------------ driver

async fn an_absent_image_is_never_pulled() {
    // `docker run --pull never`: a missing image is an error naming the
    // build script, not a registry lookup (there is none in CI).
    let image = format!("cp-harness/absent-{}:never", unique_name("img"));
    match ContainerSpec::new(&image).run() {
        Err(e @ DockerError::ImageMissing { .. }) => {
            assert!(e.to_string().contains("docker/build-images.sh"), "{e}");
        }
        Err(e) => panic!("running the absent image {image}: expected ImageMissing, got: {e}"),
        Ok(container) => panic!(
            "the absent image {image} was pulled and run as {}",
            container.name()
        ),
    }
    let inspect = docker_output(&["image", "inspect", &image]).expect("docker image inspect");
    assert!(!inspect.status.success(), "{image} exists after the run");
}

// ------------------------------------------------------------------ cp-stub

async fn stub_image_starts_healthy_and_serves_this_checkouts_contract() {
    // run() returns only once Docker reports the container healthy.
    let stub = start(stub_request(), "cp-stub");
    let base = base_url(&stub, STUB_PORT);

    let (status, body) = get_json(&format!("{base}/healthz")).await;
    assert_eq!((status, &body["status"]), (200, &json!("ok")), "{body}");

    let (status, body) = get_json(&format!("{base}{ADMIN_PREFIX}/version")).await;
    assert_eq!(status, 200, "GET /__/stub/version: {body}");
    let version: VersionInfo =
        serde_json::from_value(body.clone()).expect("/__/stub/version is a VersionInfo");
    assert_eq!(version.name, "cp-stub");
    assert_eq!(
        version.contract,
        contract::fingerprint(),
        "the image serves another contract than this checkout (stale image, incident D9): \
         rebuild it with docker/build-images.sh ({body})"
    );
}

async fn stub_in_container_answers_every_contract_route() {
    let stub = start(stub_request(), "cp-stub");
    let base = base_url(&stub, STUB_PORT);
    let (org, workspace) = ("org-containers", "ws-containers");

    for probe in contract::probes(org, workspace) {
        let route = probe.route;
        let method = reqwest::Method::from_bytes(probe.method.as_bytes()).expect("method");
        let mut request = client().request(method, format!("{base}{}", probe.path_and_query()));
        for (name, value) in &probe.headers {
            request = request.header(*name, value);
        }
        if let Some(body) = &probe.body {
            request = request.json(body);
        }
        let (status, body) = send(request).await;
        assert!(
            route.success.accepts(status),
            "{} {}: status {status} is not a success for the real client ({:?}); body: {body}\n{}",
            probe.method,
            probe.path,
            route.success,
            stub.logs()
        );
        let violations = contract::validate(route.response_schema, &body).expect("schema compiles");
        assert!(
            violations.is_empty(),
            "{} {}: the answer breaks `{}`: {}; body: {body}",
            probe.method,
            probe.path,
            route.response_schema,
            violations
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        );
        if route.id == contract::RouteId::Provision {
            // Exactly 201 (D3) and the default prefix mol-ws- (D10).
            assert_eq!(status, 201);
            assert_eq!(body["instance_id"], json!(format!("mol-ws-{workspace}")));
        }
    }

    let state = stub_state(&base).await;
    assert!(
        state.violations.is_empty(),
        "the probes are valid requests, yet the stub recorded violations: {:?}",
        state.violations
    );
    assert!(
        state.unmatched.is_empty(),
        "unmatched: {:?}",
        state.unmatched
    );
    assert_eq!(state.org_calls(org, contract::RouteId::Provision), 1);
}

async fn stub_is_reachable_by_name_from_another_container() {
    // As in compose: a user-defined network, peers call http://<name>:9090.
    // The probe is the stub image's own static binary, so this also checks
    // that static glibc resolves names through Docker's DNS in FROM scratch.
    // Declared first, so it is removed after the containers on it.
    let network = network();
    let name = unique_name("stub");
    let _stub = start(
        stub_request().network(network.name()).name(&name),
        "cp-stub",
    );

    let url = format!("http://{name}:{STUB_PORT}/healthz");
    let probe = ContainerSpec::new(stub_image())
        .wait(Wait::Exit(0))
        .cmd(["healthcheck", "--url", url.as_str()])
        .network(network.name())
        .startup_timeout(STARTUP_TIMEOUT)
        .run();
    if let Err(e) = probe {
        panic!(
            "`cp-stub healthcheck --url {url}` from a second container on {} failed: {e}",
            network.name()
        );
    }
}

async fn stub_is_configured_through_the_environment() {
    // Another port and instance prefix. The image's healthcheck reads PORT
    // too, so "healthy" already shows both ends follow the variable.
    let port = 9191;
    let stub = start(
        ContainerSpec::new(stub_image())
            .publish(port)
            .wait(Wait::Healthy)
            .env("PORT", port.to_string())
            .env("CP_STUB_INSTANCE_PREFIX", "i-custom-")
            .startup_timeout(STARTUP_TIMEOUT),
        "cp-stub on PORT=9191",
    );
    let base = base_url(&stub, port);

    let (status, body) = provision(&base, "org-env", "ws-env").await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["instance_id"], json!("i-custom-ws-env"), "{body}");
}

async fn stub_rejects_a_bad_setting_with_exit_code_2() {
    let started = ContainerSpec::new(stub_image())
        .wait(Wait::Exit(2))
        .env("CP_STUB_JOURNAL_CAPACITY", "lots")
        .startup_timeout(STARTUP_TIMEOUT)
        .run();
    if let Err(e) = started {
        panic!("a bad CP_STUB_JOURNAL_CAPACITY must stop the stub with exit code 2 (configuration error): {e}");
    }
}

async fn stub_stops_on_sigterm_within_two_seconds() {
    let stub = start(stub_request(), "cp-stub");
    let base = base_url(&stub, STUB_PORT);
    // Some traffic first, so there are open connections to close.
    let (status, _) = provision(&base, "org-sigterm", "ws-sigterm").await;
    assert_eq!(status, 201);

    let code = stop_within_two_seconds(&stub);
    assert_eq!(
        code,
        0,
        "cp-stub did not exit by itself within 2 s of SIGTERM (137 = SIGKILLed by Docker)\n{}",
        stub.logs()
    );
}

// ------------------------------------------------------------------ tenant-double

async fn tenant_double_provisions_through_the_stub_container_by_name() {
    // Declared first, so it is removed after the containers on it.
    let network = network();
    let stub_name = unique_name("cp-stub");
    let stub = start(
        stub_request().network(network.name()).name(&stub_name),
        "cp-stub",
    );
    let stub_base = base_url(&stub, STUB_PORT);

    // The environment compose.yml gives tenant-alpha.
    let cp = format!("http://{stub_name}:{STUB_PORT}");
    let tenant = start(
        tenant_request()
            .network(network.name())
            .env("MOLECULE_ORG_ID", "org-alpha")
            .env("ADMIN_TOKEN", "alpha-admin-token")
            .env("PLATFORM_URL", "http://tenant-alpha:8080")
            .env("CP_PROVISION_URL", &cp)
            .env("MOLECULE_CP_URL", &cp)
            .env("MOLECULE_CP_SHARED_SECRET", "harness-shared-secret"),
        "tenant-double",
    );
    let tenant_base = base_url(&tenant, TENANT_PORT);

    let (status, body) = send(
        client()
            .post(format!("{tenant_base}/workspaces"))
            .bearer_auth("alpha-admin-token")
            .header("X-Molecule-Org-Id", "org-alpha")
            .json(&json!({"name": "containers", "tier": 0})),
    )
    .await;
    assert_eq!(status, 201, "POST /workspaces: {body}\n{}", tenant.logs());
    let id = body["id"].as_str().expect("workspace id").to_string();

    // Provisioning is asynchronous: poll the workspace until it leaves
    // `provisioning` (bounded; not a timing assertion).
    let deadline = Instant::now() + Duration::from_secs(30);
    let workspace = loop {
        let (status, body) = send(
            client()
                .get(format!("{tenant_base}/workspaces/{id}"))
                .bearer_auth("alpha-admin-token")
                .header("X-Molecule-Org-Id", "org-alpha"),
        )
        .await;
        assert_eq!(status, 200, "GET /workspaces/{id}: {body}");
        if body["status"] != json!("provisioning") || Instant::now() > deadline {
            break body;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        workspace["instance_id"],
        json!(format!("mol-ws-{id}")),
        "the tenant did not provision through the stub: {workspace}\n{}",
        tenant.logs()
    );

    // The tenant's own calls reached the stub under its org (D2, D4).
    let state = stub_state(&stub_base).await;
    assert_eq!(
        state.org_calls("org-alpha", contract::RouteId::Provision),
        1,
        "{:?}",
        state.orgs
    );
    assert_eq!(
        state.org_calls("org-alpha", contract::RouteId::TenantsConfig),
        1,
        "{:?}",
        state.orgs
    );

    let code = stop_within_two_seconds(&tenant);
    assert_eq!(
        code,
        0,
        "tenant-double did not exit by itself within 2 s of SIGTERM\n{}",
        tenant.logs()
    );
}
