//! The `fake-gemini` image as a testcontainers module (feature `testcontainers`):
//! `FakeGeminiImage::default().start().await?` gives a running fake and its base URL (`GEMINI_BASE_URL`), with the
//! default answer or a mounted `--script` file; port mapping by default, or host networking on a
//! chosen port.

use std::borrow::Cow;
use std::path::Path;

use testcontainers::core::{ContainerPort, Mount, WaitFor};
use testcontainers::runners::AsyncRunner as _;
use testcontainers::{ContainerAsync, ContainerRequest, Image, ImageExt as _, TestcontainersError};

const PORT: ContainerPort = ContainerPort::Tcp(9300);
/// Where a mounted scenario file appears inside the container.
const SCRIPT_INSIDE: &str = "/fake-gemini.toml";

/// The `fake-gemini` image, configured.
#[derive(Debug, Clone)]
pub struct FakeGeminiImage {
    tag: String,
    host_port: Option<u16>,
    script: Option<String>,
    args: Vec<String>,
}

impl Default for FakeGeminiImage {
    /// `fake-gemini:local` (what `scripts/build-images` tags), the default answer, port mapping.
    fn default() -> Self {
        Self {
            tag: "local".into(),
            host_port: None,
            script: None,
            args: Vec::new(),
        }
    }
}

/// A started fake-gemini; the container stops when this is dropped.
pub struct RunningFakeGemini {
    /// The container.
    pub container: ContainerAsync<FakeGeminiImage>,
    /// The base URL (`GEMINI_BASE_URL`).
    pub url: String,
}

impl FakeGeminiImage {
    /// Another tag of the image.
    pub fn with_tag(mut self, tag: impl Into<String>) -> Self {
        self.tag = tag.into();
        self
    }

    /// Host networking, listening on `127.0.0.1:port`.
    pub fn with_host_network(mut self, port: u16) -> Self {
        self.host_port = Some(port);
        self
    }

    /// Mounts this scenario file (the `--script` TOML) into the container and uses it.
    pub fn with_script(mut self, path: &Path) -> Self {
        self.script = Some(path.display().to_string());
        self
    }

    /// More arguments (e.g. `--api-key …`).
    pub fn with_args(mut self, args: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Starts the container and waits until it listens.
    pub async fn start(self) -> Result<RunningFakeGemini, TestcontainersError> {
        let host_port = self.host_port;
        let script = self.script.clone();
        let mut request = ContainerRequest::from(self);
        if let Some(port) = host_port {
            request = request
                .with_network("host")
                .with_env_var("FAKE_GEMINI_ADDR", format!("127.0.0.1:{port}"));
        }
        if let Some(script) = script {
            request = request.with_mount(Mount::bind_mount(script, SCRIPT_INSIDE));
        }
        let container = request.start().await?;
        let url = match host_port {
            Some(port) => format!("http://127.0.0.1:{port}"),
            None => format!(
                "http://{}:{}",
                container.get_host().await?,
                container.get_host_port_ipv4(PORT).await?
            ),
        };
        Ok(RunningFakeGemini { container, url })
    }
}

impl Image for FakeGeminiImage {
    fn name(&self) -> &str {
        "fake-gemini"
    }

    fn tag(&self) -> &str {
        &self.tag
    }

    fn ready_conditions(&self) -> Vec<WaitFor> {
        vec![WaitFor::message_on_stdout("fake-gemini listening on")]
    }

    fn cmd(&self) -> impl IntoIterator<Item = impl Into<Cow<'_, str>>> {
        let mut args = self.args.clone();
        if self.script.is_some() {
            args.extend(["--script".to_owned(), SCRIPT_INSIDE.to_owned()]);
        }
        args
    }

    fn expose_ports(&self) -> &[ContainerPort] {
        if self.host_port.is_some() {
            &[]
        } else {
            std::slice::from_ref(&PORT)
        }
    }
}
