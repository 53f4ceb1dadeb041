//! Reading the Terraform that is about to be applied: `.tf` files (and `*.tfvars`, `-var`) parsed with
//! `hcl-rs`, and the subset of the language the gate needs evaluated — literals, `var.`, `local.`,
//! references between the module's resources and data sources (with the computed ARNs, ids and domains
//! synthesised as the emulator's local values), string interpolation, a few functions, the managed
//! CloudFront policies by name, and `terraform_remote_state` outputs bound to fake-cognito. Anything
//! else met on an attribute the gate needs is reported as unsupported with its file:line.

pub mod headers_policy;
pub mod lint;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hcl::{Block, Body, Expression, ObjectKey, TraversalOperator};
use serde_json::{Map, Value, json};

use crate::topology::{self, Topology};

/// The resource and data kinds the gate evaluates: `count`/`for_each` on one of these is refused
/// (the gate evaluates single instances); on any other kind (a WAF, a log bucket) it is ignored, as
/// the gate never reads those resources' attributes.
pub const GATE_KINDS: [&str; 12] = [
    "aws_lambda_function",
    "aws_lambda_function_url",
    "aws_lambda_permission",
    "aws_cloudfront_distribution",
    "aws_cloudfront_origin_access_control",
    "aws_cloudfront_response_headers_policy",
    "aws_cloudfront_cache_policy",
    "aws_cloudfront_origin_request_policy",
    "aws_iam_role",
    "terraform_remote_state",
    "aws_caller_identity",
    "aws_region",
];

/// A place in the Terraform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// File name within the directory.
    pub file: String,
    /// 1-based line.
    pub line: usize,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// Why the Terraform cannot be read or evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TfError {
    /// A file could not be read or parsed.
    #[error("{0}")]
    Load(String),
    /// Something the gate needs uses a construct it does not evaluate.
    #[error("{location}: unsupported: {what}")]
    Unsupported {
        /// Where.
        location: Location,
        /// What.
        what: String,
    },
    /// A value outside what AWS accepts for the attribute.
    #[error("{location}: {what}")]
    Invalid {
        /// Where.
        location: Location,
        /// What.
        what: String,
    },
    /// A reference to something that does not exist.
    #[error("{location}: {what}")]
    Missing {
        /// Where.
        location: Location,
        /// What.
        what: String,
    },
}

/// One `resource` or `data` block.
#[derive(Debug, Clone)]
pub struct Resource {
    /// `aws_lambda_function`.
    pub kind: String,
    /// `chatbot`.
    pub name: String,
    /// Its body.
    pub body: Body,
    /// Where it starts.
    pub location: Location,
}

/// The module as read.
#[derive(Debug, Clone)]
pub struct Module {
    /// The directory.
    pub dir: PathBuf,
    /// File texts by name, for locations.
    texts: BTreeMap<String, String>,
    /// `resource` blocks.
    pub resources: Vec<Resource>,
    /// `data` blocks.
    pub data: Vec<Resource>,
    /// `locals` attributes.
    locals: BTreeMap<String, (Expression, Location)>,
    /// Variables: default, then tfvars, then `-var` values.
    variables: BTreeMap<String, Value>,
    /// The topology whose computed values the synthesised attributes use.
    local: Topology,
    /// The references being evaluated, outermost first: a reference already here is a cycle
    /// (`local.a = local.a`), which Terraform refuses and which would otherwise recurse until the
    /// stack overflows.
    evaluating: RefCell<Vec<String>>,
}

/// Deepest chain of references the evaluator follows (Terraform has no such limit, but a module
/// the gate reads never comes near it; the bound keeps a hostile one off the stack's end).
const MAX_REFERENCE_DEPTH: usize = 64;

fn line_of(text: &str, needle: &str, from_line: usize) -> Option<usize> {
    text.lines()
        .enumerate()
        .skip(from_line.saturating_sub(1))
        .find(|(_, line)| line.contains(needle))
        .map(|(i, _)| i + 1)
}

/// A Terraform file's name (for locations), its text (for line numbers) and its parsed body.
/// A file's name (for locations) and its text.
fn read_source(path: &std::path::Path) -> Result<(String, String), TfError> {
    let name = path
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let text = std::fs::read_to_string(path).map_err(|e| TfError::Load(format!("{name}: {e}")))?;
    Ok((name, text))
}

fn parse_hcl(name: &str, text: &str) -> Result<Body, TfError> {
    hcl::parse(text).map_err(|e| TfError::Load(format!("{name}: {e}")))
}

/// The files of `dir` whose name `keep` accepts, sorted, read.
fn sources(dir: &Path, keep: impl Fn(&str) -> bool) -> Result<Vec<(String, String)>, TfError> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| TfError::Load(format!("{}: {e}", dir.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| keep(&p.file_name().unwrap_or_default().to_string_lossy()))
        .collect();
    files.sort();
    files.iter().map(|p| read_source(p)).collect()
}

fn block_header_line(text: &str, block: &Block) -> usize {
    let labels: Vec<String> = block
        .labels
        .iter()
        .map(|l| format!("\"{}\"", l.as_str()))
        .collect();
    let header = format!("{} {}", block.identifier.as_str(), labels.join(" "));
    line_of(text, header.trim(), 1).unwrap_or(1)
}

impl Module {
    /// Reads every `.tf` file of `dir`, then `*.auto.tfvars`/`terraform.tfvars`, then `vars`.
    pub fn load(dir: &Path, vars: &[(String, String)]) -> Result<Self, TfError> {
        let tf = sources(dir, |name| name.ends_with(".tf"))?;
        if tf.is_empty() {
            return Err(TfError::Load(format!("{}: no .tf files", dir.display())));
        }
        let tfvars = sources(dir, |name| {
            name == "terraform.tfvars" || name.ends_with(".auto.tfvars")
        })?;
        Self::from_sources(dir, &tf, &tfvars, vars)
    }

    /// A module from the texts of its `.tf` files and tfvars files (name, text), and `-var` values.
    pub fn from_sources(
        dir: &Path,
        tf: &[(String, String)],
        tfvars: &[(String, String)],
        vars: &[(String, String)],
    ) -> Result<Self, TfError> {
        let mut module = Module {
            dir: dir.to_owned(),
            texts: BTreeMap::new(),
            resources: Vec::new(),
            data: Vec::new(),
            locals: BTreeMap::new(),
            variables: BTreeMap::new(),
            local: Topology::default(),
            evaluating: RefCell::default(),
        };
        let mut defaults: Vec<(String, Expression, Location)> = Vec::new();
        for (name, text) in tf {
            let (name, text) = (name.clone(), text.clone());
            let body = parse_hcl(&name, &text)?;
            for block in body.blocks() {
                let location = Location {
                    file: name.clone(),
                    line: block_header_line(&text, block),
                };
                let labels: Vec<&str> = block.labels.iter().map(|l| l.as_str()).collect();
                let repeated = block
                    .body
                    .attributes()
                    .find(|a| a.key.as_str() == "count" || a.key.as_str() == "for_each");
                let evaluated = labels.first().is_some_and(|kind| GATE_KINDS.contains(kind));
                if let (Some(attribute), "resource" | "data", true) =
                    (repeated, block.identifier.as_str(), evaluated)
                {
                    let line = line_of(&text, attribute.key.as_str(), location.line)
                        .unwrap_or(location.line);
                    return Err(TfError::Unsupported {
                        location: Location {
                            file: name.clone(),
                            line,
                        },
                        what: format!(
                            "{} on {} (the gate evaluates single instances)",
                            attribute.key.as_str(),
                            labels.join(".")
                        ),
                    });
                }
                match (block.identifier.as_str(), labels.as_slice()) {
                    ("resource", [kind, rname]) => module.resources.push(Resource {
                        kind: (*kind).to_owned(),
                        name: (*rname).to_owned(),
                        body: block.body.clone(),
                        location,
                    }),
                    ("data", [kind, rname]) => module.data.push(Resource {
                        kind: (*kind).to_owned(),
                        name: (*rname).to_owned(),
                        body: block.body.clone(),
                        location,
                    }),
                    ("locals", []) => {
                        for attribute in block.body.attributes() {
                            let line = line_of(
                                &text,
                                &format!("{} ", attribute.key.as_str()),
                                location.line,
                            )
                            .unwrap_or(location.line);
                            module.locals.insert(
                                attribute.key.as_str().to_owned(),
                                (
                                    attribute.expr.clone(),
                                    Location {
                                        file: name.clone(),
                                        line,
                                    },
                                ),
                            );
                        }
                    }
                    ("variable", [vname]) => {
                        if let Some(default) = block
                            .body
                            .attributes()
                            .find(|a| a.key.as_str() == "default")
                        {
                            defaults.push(((*vname).to_owned(), default.expr.clone(), location));
                        }
                    }
                    ("module", _) => {
                        return Err(TfError::Unsupported {
                            location,
                            what: "module blocks".into(),
                        });
                    }
                    _ => {}
                }
            }
            module.texts.insert(name, text);
        }
        for (name, expr, location) in defaults {
            let value = module.eval(&expr, &location)?;
            module.variables.insert(name, value);
        }
        for (name, text) in tfvars {
            let body = parse_hcl(name, text)?;
            for attribute in body.attributes() {
                let location = Location {
                    file: name.clone(),
                    line: line_of(text, attribute.key.as_str(), 1).unwrap_or(1),
                };
                let value = module.eval(&attribute.expr, &location)?;
                module
                    .variables
                    .insert(attribute.key.as_str().to_owned(), value);
            }
        }
        for (name, raw) in vars {
            let value = module.var_value(name, raw)?;
            module.variables.insert(name.clone(), value);
        }
        Ok(module)
    }

    /// A `-var` value as terraform reads it: an HCL list, object or quoted string when it looks like
    /// one (`["http://localhost:5173"]`), else a number or the raw text.
    fn var_value(&self, name: &str, raw: &str) -> Result<Value, TfError> {
        let trimmed = raw.trim_start();
        if trimmed.starts_with(['[', '{', '"']) {
            let at = Location {
                file: format!("--var {name}"),
                line: 1,
            };
            let body = hcl::parse(&format!("value = {raw}"))
                .map_err(|e| TfError::Load(format!("--var {name}={raw}: {e}")))?;
            let expr = body
                .attributes()
                .next()
                .map(|a| a.expr.clone())
                .ok_or_else(|| TfError::Load(format!("--var {name}={raw}: no value")))?;
            return self.eval(&expr, &at);
        }
        Ok(raw
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::String(raw.to_owned())))
    }

    /// The single resource of a kind (the gate expects one of each).
    pub fn resource(&self, kind: &str) -> Option<&Resource> {
        self.resources.iter().find(|r| r.kind == kind)
    }

    /// Every resource of a kind.
    pub fn all(&self, kind: &str) -> Vec<&Resource> {
        self.resources.iter().filter(|r| r.kind == kind).collect()
    }

    /// Where an attribute (possibly in a nested block) of a resource is written, else the resource.
    pub fn location_of(&self, resource: &Resource, attribute: &str) -> Location {
        self.written_at(resource, attribute, '=', 0)
    }

    /// Where the `nth` (from 0) nested block named `identifier` of a resource starts, else the
    /// resource.
    pub fn block_location(&self, resource: &Resource, identifier: &str, nth: usize) -> Location {
        self.written_at(resource, identifier, '{', nth)
    }

    /// The `nth` line after the resource's start that begins with `name` then `opener` (`=` for an
    /// attribute, `{` for a block).
    fn written_at(&self, resource: &Resource, name: &str, opener: char, nth: usize) -> Location {
        let line = self
            .texts
            .get(&resource.location.file)
            .and_then(|text| {
                text.lines()
                    .enumerate()
                    .skip(resource.location.line)
                    .filter(|(_, l)| {
                        let trimmed = l.trim_start();
                        trimmed.starts_with(name)
                            && trimmed[name.len()..].trim_start().starts_with(opener)
                    })
                    .nth(nth)
                    .map(|(i, _)| i + 1)
            })
            .unwrap_or(resource.location.line);
        Location {
            file: resource.location.file.clone(),
            line,
        }
    }

    /// Whether a (nested) block is written in a resource.
    pub fn has_block(&self, resource: &Resource, path: &[&str]) -> bool {
        let mut body = &resource.body;
        for key in path {
            match body.blocks().find(|b| b.identifier.as_str() == *key) {
                Some(block) => body = &block.body,
                None => return false,
            }
        }
        true
    }

    /// An attribute of a resource, by path (`["default_cache_behavior", "allowed_methods"]`),
    /// evaluated; `Ok(None)` when it is not written.
    pub fn attribute(&self, resource: &Resource, path: &[&str]) -> Result<Option<Value>, TfError> {
        let mut body = &resource.body;
        for (i, key) in path.iter().enumerate() {
            if i + 1 == path.len() {
                return match body.attributes().find(|a| a.key.as_str() == *key) {
                    Some(attribute) => Ok(Some(
                        self.eval(&attribute.expr, &self.location_of(resource, key))?,
                    )),
                    None => Ok(None),
                };
            }
            match body.blocks().find(|b| b.identifier.as_str() == *key) {
                Some(block) => body = &block.body,
                None => return Ok(None),
            }
        }
        Ok(None)
    }

    /// Evaluates an expression.
    pub fn eval(&self, expr: &Expression, at: &Location) -> Result<Value, TfError> {
        let unsupported = |what: String| TfError::Unsupported {
            location: at.clone(),
            what,
        };
        Ok(match expr {
            Expression::Null => Value::Null,
            Expression::Bool(b) => json!(b),
            Expression::Number(n) => serde_json::to_value(n).unwrap_or(Value::Null),
            Expression::String(s) => json!(s),
            Expression::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|e| self.eval(e, at))
                    .collect::<Result<_, _>>()?,
            ),
            Expression::Object(object) => {
                let mut map = Map::new();
                for (key, value) in object {
                    let key = match key {
                        ObjectKey::Identifier(id) => id.as_str().to_owned(),
                        ObjectKey::Expression(e) => match self.eval(e, at)? {
                            Value::String(s) => s,
                            other => other.to_string(),
                        },
                        _ => return Err(unsupported("an object key".into())),
                    };
                    map.insert(key, self.eval(value, at)?);
                }
                Value::Object(map)
            }
            Expression::TemplateExpr(template) => {
                let template = hcl::template::Template::from_expr(template)
                    .map_err(|e| unsupported(format!("template: {e}")))?;
                let mut out = String::new();
                for element in template.elements() {
                    match element {
                        hcl::template::Element::Literal(text) => out.push_str(text),
                        hcl::template::Element::Interpolation(interpolation) => {
                            match self.eval(&interpolation.expr, at)? {
                                Value::String(s) => out.push_str(&s),
                                other => out.push_str(&other.to_string()),
                            }
                        }
                        hcl::template::Element::Directive(_) => {
                            return Err(unsupported("template directives (%{ … })".into()));
                        }
                    }
                }
                Value::String(out)
            }
            Expression::Parenthesis(inner) => self.eval(inner, at)?,
            Expression::Variable(variable) => {
                return Err(unsupported(format!(
                    "a bare reference to {}",
                    variable.as_str()
                )));
            }
            Expression::Traversal(traversal) => self.traverse(traversal, at)?,
            Expression::FuncCall(call) => self.call(call, at)?,
            other => return Err(unsupported(format!("expression {}", describe(other)))),
        })
    }

    fn traverse(&self, traversal: &hcl::Traversal, at: &Location) -> Result<Value, TfError> {
        let mut names: Vec<String> = Vec::new();
        let Expression::Variable(root) = &traversal.expr else {
            return Err(TfError::Unsupported {
                location: at.clone(),
                what: "a traversal of a computed value".into(),
            });
        };
        names.push(root.as_str().to_owned());
        for operator in &traversal.operators {
            match operator {
                TraversalOperator::GetAttr(id) => names.push(id.as_str().to_owned()),
                TraversalOperator::LegacyIndex(i) => names.push(i.to_string()),
                TraversalOperator::Index(Expression::Number(n)) => names.push(n.to_string()),
                _ => {
                    return Err(TfError::Unsupported {
                        location: at.clone(),
                        what: "splat or computed index (count/for_each)".into(),
                    });
                }
            }
        }
        let missing = |what: String| TfError::Missing {
            location: at.clone(),
            what,
        };
        match names[0].as_str() {
            "var" => {
                let name = names
                    .get(1)
                    .ok_or_else(|| missing("var without a name".into()))?;
                self.variables.get(name).cloned().ok_or_else(|| {
                    missing(format!(
                        "variable {name} has no value: give it a default, set it in terraform.tfvars, or pass --var {name}=… (lists as HCL: --var '{name}=[\"…\"]')"
                    ))
                })
            }
            "local" => {
                let name = names
                    .get(1)
                    .ok_or_else(|| missing("local without a name".into()))?;
                let (expr, location) = self
                    .locals
                    .get(name)
                    .ok_or_else(|| missing(format!("local.{name} is not defined")))?;
                self.follow(format!("local.{name}"), at, || self.eval(expr, location))
            }
            "data" if names.len() >= 4 => {
                let resource = self
                    .data
                    .iter()
                    .find(|r| r.kind == names[1] && r.name == names[2])
                    .ok_or_else(|| {
                        missing(format!("data.{}.{} is not defined", names[1], names[2]))
                    })?;
                let reference = format!("data.{}.{}.{}", names[1], names[2], names[3]);
                self.follow(reference, at, || {
                    self.data_attribute(resource, &names[3..], at)
                })
            }
            kind if names.len() >= 3 => {
                let resource = self
                    .resources
                    .iter()
                    .find(|r| r.kind == kind && r.name == names[1])
                    .ok_or_else(|| missing(format!("{kind}.{} is not defined", names[1])))?;
                let reference = format!("{kind}.{}.{}", names[1], names[2]);
                self.follow(reference, at, || {
                    self.resource_attribute(resource, &names[2..], at)
                })
            }
            other => Err(TfError::Unsupported {
                location: at.clone(),
                what: format!("reference {other}"),
            }),
        }
    }

    /// Evaluates one reference with `evaluate`, refusing it when it is already being evaluated (a
    /// cycle, named as Terraform's `Error: Cycle:` names it) or when the chain is too deep.
    fn follow(
        &self,
        reference: String,
        at: &Location,
        evaluate: impl FnOnce() -> Result<Value, TfError>,
    ) -> Result<Value, TfError> {
        {
            let mut chain = self.evaluating.borrow_mut();
            if let Some(start) = chain.iter().position(|r| *r == reference) {
                let cycle = chain[start..].join(" → ");
                return Err(TfError::Invalid {
                    location: at.clone(),
                    what: format!("Cycle: {cycle} → {reference} (a value that depends on itself)"),
                });
            }
            if chain.len() >= MAX_REFERENCE_DEPTH {
                return Err(TfError::Unsupported {
                    location: at.clone(),
                    what: format!("references chained more than {MAX_REFERENCE_DEPTH} deep"),
                });
            }
            chain.push(reference);
        }
        let value = evaluate();
        self.evaluating.borrow_mut().pop();
        value
    }

    /// A resource attribute as a string (written or synthesised).
    pub fn resource_attribute_public(
        &self,
        resource: &Resource,
        name: &str,
    ) -> Result<String, TfError> {
        let value = self.resource_attribute(resource, &[name.to_owned()], &resource.location)?;
        Ok(value
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| value.to_string()))
    }

    /// A resource attribute: written in its body, else synthesised for computed ones.
    fn resource_attribute(
        &self,
        resource: &Resource,
        path: &[String],
        at: &Location,
    ) -> Result<Value, TfError> {
        let name = path[0].as_str();
        if let Some(value) = self.attribute(resource, &[name])? {
            return Ok(value);
        }
        let t = &self.local;
        let text = |s: String| Ok(Value::String(s));
        match (resource.kind.as_str(), name) {
            ("aws_lambda_function", "arn") | ("aws_lambda_function", "qualified_arn") => {
                let function = self
                    .attribute(resource, &["function_name"])?
                    .unwrap_or_default();
                text(format!(
                    "arn:aws:lambda:{}:{}:function:{}",
                    self.region()?,
                    t.account_id,
                    function.as_str().unwrap_or_default()
                ))
            }
            ("aws_lambda_function_url", "function_url") => text(format!(
                "https://{}.lambda-url.{}.on.aws/",
                t.function_url.url_id,
                self.region()?
            )),
            ("aws_lambda_function_url", "url_id") => text(t.function_url.url_id.clone()),
            ("aws_cloudfront_distribution", "id") => text(t.distribution.id.clone()),
            ("aws_cloudfront_distribution", "arn") => text(t.distribution_arn()),
            ("aws_cloudfront_distribution", "domain_name") => {
                text(t.distribution.domain_name.clone())
            }
            ("aws_cloudfront_origin_access_control", "id") => text("E3OACCHATBOTLOCAL".into()),
            ("aws_iam_role", "arn") => text(t.function.role.arn.clone()),
            (_, "id") | (_, "name") => text(format!("{}-{}", resource.kind, resource.name)),
            _ => Err(TfError::Unsupported {
                location: at.clone(),
                what: format!(
                    "computed attribute {}.{}.{name}",
                    resource.kind, resource.name
                ),
            }),
        }
    }

    fn data_attribute(
        &self,
        resource: &Resource,
        path: &[String],
        at: &Location,
    ) -> Result<Value, TfError> {
        let name_attr = || -> Result<String, TfError> {
            Ok(self
                .attribute(resource, &["name"])?
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default())
        };
        match (resource.kind.as_str(), path[0].as_str()) {
            ("aws_cloudfront_cache_policy" | "aws_cloudfront_origin_request_policy", "id") => {
                let name = name_attr()?;
                managed_policy_id(&name)
                    .map(|id| json!(id))
                    .ok_or_else(|| TfError::Unsupported {
                        location: at.clone(),
                        what: format!(
                            "the managed policy {name:?} (known: {})",
                            MANAGED_POLICIES
                                .iter()
                                .map(|(n, _)| *n)
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    })
            }
            ("terraform_remote_state", "outputs") => {
                let output = path.get(1).map(String::as_str).unwrap_or("");
                match output {
                    "user_pool_id" => Ok(json!(fake_cognito::config::DEFAULT_POOL_ID)),
                    "client_id" => Ok(json!(fake_cognito::config::DEFAULT_CLIENT_ID)),
                    "region" => Ok(json!(fake_cognito::config::DEFAULT_REGION)),
                    other => Err(TfError::Unsupported {
                        location: at.clone(),
                        what: format!(
                            "remote state output {other:?} (fake-cognito binds user_pool_id, client_id, region)"
                        ),
                    }),
                }
            }
            ("aws_caller_identity", "account_id") => Ok(json!(self.local.account_id)),
            ("aws_region", "name") => Ok(json!(self.region()?)),
            (kind, attribute) => Err(TfError::Unsupported {
                location: at.clone(),
                what: format!("data.{kind}.{}.{attribute}", resource.name),
            }),
        }
    }

    fn region(&self) -> Result<String, TfError> {
        Ok(self
            .variables
            .get("region")
            .and_then(Value::as_str)
            .unwrap_or("us-east-1")
            .to_owned())
    }

    fn call(&self, call: &hcl::expr::FuncCall, at: &Location) -> Result<Value, TfError> {
        let name = call.name.to_string();
        let args: Vec<Value> = call
            .args
            .iter()
            .map(|a| self.eval(a, at))
            .collect::<Result<_, _>>()?;
        let string = |i: usize| args.get(i).and_then(Value::as_str).unwrap_or("").to_owned();
        Ok(match name.as_str() {
            "trimprefix" => json!(
                string(0)
                    .strip_prefix(&string(1))
                    .map(str::to_owned)
                    .unwrap_or_else(|| string(0))
            ),
            "trimsuffix" => json!(
                string(0)
                    .strip_suffix(&string(1))
                    .map(str::to_owned)
                    .unwrap_or_else(|| string(0))
            ),
            "replace" => json!(string(0).replace(&string(1), &string(2))),
            "lower" => json!(string(0).to_lowercase()),
            "upper" => json!(string(0).to_uppercase()),
            "tostring" => json!(string(0)),
            "jsonencode" => json!(args.first().cloned().unwrap_or(Value::Null).to_string()),
            other => {
                return Err(TfError::Unsupported {
                    location: at.clone(),
                    what: format!("function {other}()"),
                });
            }
        })
    }
}

fn describe(expr: &Expression) -> &'static str {
    match expr {
        Expression::Conditional(_) => "conditional (a ? b : c)",
        Expression::Operation(_) => "operation",
        Expression::ForExpr(_) => "for expression",
        _ => "of this kind",
    }
}

/// The managed CloudFront policies the gate knows, by name and id.
pub const MANAGED_POLICIES: [(&str, &str); 8] = [
    (
        "Managed-CachingDisabled",
        "4135ea2d-6df8-44a3-9df3-4b5a84be39ad",
    ),
    (
        "Managed-CachingOptimized",
        "658327ea-f89d-4fab-a63d-7e88639e58f6",
    ),
    (
        "Managed-AllViewerExceptHostHeader",
        "b689b0a8-53d0-40ab-baf2-68738e2966ac",
    ),
    ("Managed-AllViewer", "216adef6-5c7f-47e4-b989-5492eafa07d3"),
    (
        "Managed-CORS-S3Origin",
        "88a5eaf4-2fd4-4709-b370-b4c650ea3fcf",
    ),
    (
        "Managed-CORS-CustomOrigin",
        "59781a5b-3903-41f3-afcb-af62929ccde1",
    ),
    (
        "Managed-UserAgentRefererHeaders",
        "acba4595-bd28-49b8-b9fe-13317c0390fa",
    ),
    (
        "Managed-AllViewerAndCloudFrontHeaders-2022-06",
        "33f36d7e-f396-46d9-90e0-52428a34d9dc",
    ),
];

/// A managed policy's id.
pub fn managed_policy_id(name: &str) -> Option<&'static str> {
    MANAGED_POLICIES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, id)| *id)
}

/// A managed policy's name.
pub fn managed_policy_name(id: &str) -> Option<&'static str> {
    MANAGED_POLICIES
        .iter()
        .find(|(_, i)| *i == id)
        .map(|(n, _)| *n)
}

fn string_list(value: Option<Value>) -> Vec<String> {
    value
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
        .into_iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// An attribute spelled as one of an enumeration's AWS values (`AWS_IAM`, `always`, …), checked at
/// read time.
fn enumerated<T: serde::de::DeserializeOwned>(
    module: &Module,
    resource: &Resource,
    path: &[&str],
) -> Result<Option<T>, TfError> {
    let Some(value) = module.attribute(resource, path)? else {
        return Ok(None);
    };
    serde_json::from_value(value.clone())
        .map(Some)
        .map_err(|e| TfError::Invalid {
            location: module.location_of(resource, path.last().copied().unwrap_or_default()),
            what: format!("{} = {value}: {e}", path.join(".")),
        })
}

fn text(value: Option<Value>) -> Option<String> {
    value.and_then(|v| v.as_str().map(str::to_owned))
}

/// The distribution's `custom_error_response` blocks, each refused where it is written when AWS would
/// refuse it.
pub fn custom_error_responses(
    module: &Module,
    distribution: &Resource,
) -> Result<Vec<topology::CustomErrorResponse>, TfError> {
    let blocks = distribution
        .body
        .blocks()
        .filter(|b| b.identifier.as_str() == "custom_error_response");
    blocks
        .enumerate()
        .map(|(nth, block)| {
            let at = module.block_location(distribution, "custom_error_response", nth);
            let value = |key: &str| -> Result<Option<Value>, TfError> {
                block
                    .body
                    .attributes()
                    .find(|a| a.key.as_str() == key)
                    .map(|a| module.eval(&a.expr, &at))
                    .transpose()
            };
            // Terraform converts a number written as a string ("200") to the attribute's number type.
            let number = |key: &str| -> Result<Option<u64>, TfError> {
                match value(key)? {
                    None | Some(Value::Null) => Ok(None),
                    Some(v) => v
                        .as_u64()
                        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                        .map(Some)
                        .ok_or_else(|| TfError::Invalid {
                            location: at.clone(),
                            what: format!("custom_error_response.{key} = {v}: not a number"),
                        }),
                }
            };
            let status = |key: &str| -> Result<Option<u16>, TfError> {
                number(key)?
                    .map(|n| {
                        u16::try_from(n).map_err(|_| TfError::Invalid {
                            location: at.clone(),
                            what: format!("custom_error_response.{key} = {n}: not an HTTP status"),
                        })
                    })
                    .transpose()
            };
            let custom = topology::CustomErrorResponse {
                error_code: status("error_code")?.ok_or_else(|| TfError::Missing {
                    location: at.clone(),
                    what: "custom_error_response without error_code".into(),
                })?,
                response_code: status("response_code")?,
                response_page_path: text(value("response_page_path")?),
                error_caching_min_ttl_s: number("error_caching_min_ttl")?,
            };
            match custom.problem() {
                Some(problem) => Err(TfError::Invalid {
                    location: at,
                    what: problem,
                }),
                None => Ok(custom),
            }
        })
        .collect()
}

/// The emulator topology the Terraform describes (local-only parts — account, credentials, IAM users,
/// the SSM value — keep the embedded defaults).
pub fn topology(module: &Module) -> Result<Topology, TfError> {
    let mut t = Topology {
        region: module.region()?,
        ..Topology::default()
    };
    let missing = |what: &str| TfError::Load(format!("the Terraform has no {what}"));
    let function = module
        .resource("aws_lambda_function")
        .ok_or_else(|| missing("aws_lambda_function"))?;
    if let Some(name) = text(module.attribute(function, &["function_name"])?) {
        t.function.name = name;
    }
    if let Some(memory) = module
        .attribute(function, &["memory_size"])?
        .and_then(|v| v.as_u64())
    {
        t.function.memory_mb = memory as u32;
    }
    if let Some(timeout) = module
        .attribute(function, &["timeout"])?
        .and_then(|v| v.as_u64())
    {
        t.function.timeout_s = timeout;
    }
    t.function.reserved_concurrency = module
        .attribute(function, &["reserved_concurrent_executions"])?
        .and_then(|v| v.as_u64())
        .unwrap_or(0) as u32;
    t.function.env = module
        .attribute(function, &["environment", "variables"])?
        .and_then(|v| v.as_object().cloned())
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, v.as_str().map_or_else(|| v.to_string(), str::to_owned)))
        .collect();
    if let Some(parameter) = t.function.env.get("GEMINI_API_KEY_PARAMETER") {
        t.function.role.ssm_get_parameter = vec![parameter.clone()];
    }
    if let Some(url) = module.resource("aws_lambda_function_url") {
        if let Some(auth) = enumerated(module, url, &["authorization_type"])? {
            t.function_url.auth_type = auth;
        }
        t.function_url.invoke_mode =
            enumerated(module, url, &["invoke_mode"])?.unwrap_or(topology::InvokeMode::Buffered);
        t.function_url.cors = None;
        if url.body.blocks().any(|b| b.identifier.as_str() == "cors") {
            t.function_url.cors = Some(topology::Cors {
                allow_credentials: module
                    .attribute(url, &["cors", "allow_credentials"])?
                    .and_then(|v| v.as_bool())
                    .unwrap_or(false),
                allow_headers: string_list(module.attribute(url, &["cors", "allow_headers"])?),
                allow_methods: string_list(module.attribute(url, &["cors", "allow_methods"])?),
                allow_origins: string_list(module.attribute(url, &["cors", "allow_origins"])?),
                expose_headers: string_list(module.attribute(url, &["cors", "expose_headers"])?),
                max_age: module
                    .attribute(url, &["cors", "max_age"])?
                    .and_then(|v| v.as_u64())
                    .unwrap_or(0),
            });
        }
    }
    if let Some(oac) = module.resource("aws_cloudfront_origin_access_control") {
        t.distribution.oac = topology::OriginAccessControl {
            origin_type: text(module.attribute(oac, &["origin_access_control_origin_type"])?)
                .unwrap_or_default(),
            signing_behavior: enumerated(module, oac, &["signing_behavior"])?.ok_or_else(|| {
                TfError::Missing {
                    location: oac.location.clone(),
                    what: "the OAC has no signing_behavior".into(),
                }
            })?,
            signing_protocol: text(module.attribute(oac, &["signing_protocol"])?)
                .unwrap_or_default(),
        };
    }
    if let Some(distribution) = module.resource("aws_cloudfront_distribution") {
        if let Some(timeout) = module
            .attribute(
                distribution,
                &["origin", "custom_origin_config", "origin_read_timeout"],
            )?
            .and_then(|v| v.as_u64())
        {
            t.distribution.origin_read_timeout_s = timeout;
        }
        if let Some(timeout) = module
            .attribute(
                distribution,
                &["origin", "custom_origin_config", "origin_keepalive_timeout"],
            )?
            .and_then(|v| v.as_u64())
        {
            t.distribution.origin_keepalive_timeout_s = timeout;
        }
        let behavior = |block: &str, pattern: String| -> Result<topology::Behavior, TfError> {
            let policy = |attribute: &str| -> Result<String, TfError> {
                Ok(text(module.attribute(distribution, &[block, attribute])?)
                    .map(|id| managed_policy_name(&id).map(str::to_owned).unwrap_or(id))
                    .unwrap_or_default())
            };
            let origin_request_policy =
                match text(module.attribute(distribution, &[block, "origin_request_policy_id"])?) {
                    None => topology::OriginRequestPolicy::None,
                    Some(id) => topology::OriginRequestPolicy::from_id(&id)
                        .or_else(|| topology::OriginRequestPolicy::from_name(&id))
                        .ok_or_else(|| TfError::Unsupported {
                            location: module.location_of(distribution, "origin_request_policy_id"),
                            what: format!(
                                "the origin request policy {id:?} (the gate evaluates the managed ones: {})",
                                topology::OriginRequestPolicy::MANAGED
                                    .iter()
                                    .map(|(p, _)| p.name())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        })?,
                };
            Ok(topology::Behavior {
                path_pattern: pattern,
                allowed_methods: string_list(
                    module.attribute(distribution, &[block, "allowed_methods"])?,
                ),
                cached_methods: string_list(
                    module.attribute(distribution, &[block, "cached_methods"])?,
                ),
                cache_policy: policy("cache_policy_id")?,
                origin_request_policy,
                viewer_protocol_policy: text(
                    module.attribute(distribution, &[block, "viewer_protocol_policy"])?,
                )
                .unwrap_or_default(),
                response_headers_policy: headers_policy::of_behavior(module, distribution, block)?,
            })
        };
        if distribution
            .body
            .blocks()
            .any(|b| b.identifier.as_str() == "ordered_cache_behavior")
        {
            return Err(TfError::Unsupported {
                location: module.location_of(distribution, "ordered_cache_behavior"),
                what: "ordered_cache_behavior blocks (the gate evaluates the default behavior)"
                    .into(),
            });
        }
        t.distribution.behaviors = vec![behavior("default_cache_behavior", "*".into())?];
        if !topology::allowed_method_set(&t.distribution.behaviors[0].allowed_methods) {
            return Err(TfError::Invalid {
                location: module.location_of(distribution, "allowed_methods"),
                what: format!(
                    "allowed_methods {:?} is not one of CloudFront's three sets (AWS refuses it at apply): [GET, HEAD], [GET, HEAD, OPTIONS], or all 7",
                    t.distribution.behaviors[0].allowed_methods
                ),
            });
        }
        t.distribution.custom_error_responses = custom_error_responses(module, distribution)?;
    }
    t.resource_policy = module
        .all("aws_lambda_permission")
        .into_iter()
        .map(|p| -> Result<topology::PolicyStatement, TfError> {
            Ok(topology::PolicyStatement {
                sid: text(module.attribute(p, &["statement_id"])?)
                    .unwrap_or_else(|| p.name.clone()),
                principal: text(module.attribute(p, &["principal"])?).unwrap_or_default(),
                action: text(module.attribute(p, &["action"])?).unwrap_or_default(),
                source_arn: text(module.attribute(p, &["source_arn"])?),
                function_url_auth_type: enumerated(module, p, &["function_url_auth_type"])?,
                invoked_via_function_url: module
                    .attribute(p, &["invoked_via_function_url"])?
                    .and_then(|v| v.as_bool()),
            })
        })
        .collect::<Result<_, _>>()?;
    t.validate().map_err(|e| TfError::Load(e.to_string()))?;
    Ok(t)
}
