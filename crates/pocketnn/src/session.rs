//! [`Session`]: runs a [`Model`] with its own activation memory.

use crate::error::{Error, Result};
use crate::exec::{Executor, RunState, value_view};
use crate::io::{Input, Outputs};
use crate::limits::Limits;
use crate::model::{Model, ModelInner};
use crate::plan::{Plan, make_plan};
use crate::pool::WorkerPool;
use pocketnn_format::Dim;
use pocketnn_tensor::{Isa, Tensor, TensorView};

/// How many plans (one per distinct set of input shapes) a session keeps.
const PLAN_CACHE: usize = 4;

/// Options for [`Session::new`].
#[derive(Clone, Debug)]
pub struct SessionOptions {
    /// Worker threads for one run. `1` (the default) runs on the calling
    /// thread; `0` uses every core the OS reports.
    pub threads: usize,
    /// SIMD tier; `None` (the default) picks the best the CPU has, or the
    /// one `POCKETNN_ISA` forces.
    pub isa: Option<Isa>,
    /// Resource limits for planning and running; `None` (the default) uses
    /// the limits the model was loaded with ([`Model::limits`]).
    pub limits: Option<Limits>,
}

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions {
            threads: 1,
            isa: None,
            limits: None,
        }
    }
}

impl SessionOptions {
    /// Options with `threads` worker threads.
    pub fn with_threads(threads: usize) -> Self {
        SessionOptions {
            threads,
            ..SessionOptions::default()
        }
    }
}

/// Runs a model. One session per thread; many sessions can share a model.
///
/// Activation memory is planned once per set of input shapes and reused by
/// every later run with the same shapes.
pub struct Session {
    model: Model,
    isa: Isa,
    threads: usize,
    limits: Limits,
    pool: Option<WorkerPool>,
    plans: Vec<Plan>,
    state: RunState,
    /// Copies of graph outputs that are graph inputs (rare), per output.
    passthrough: Vec<Option<Tensor>>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("model", &self.model)
            .field("isa", &self.isa)
            .field("threads", &self.threads)
            .finish()
    }
}

/// True when `actual` fits the declared shape, binding new symbols (each
/// checked against `limits`) in `symbols`.
fn shape_matches(
    declared: &Option<Vec<Dim>>,
    actual: &[usize],
    symbols: &mut Vec<(String, usize)>,
    limits: &Limits,
) -> Result<bool> {
    let Some(dims) = declared else {
        return Ok(true);
    };
    if dims.len() != actual.len() {
        return Ok(false);
    }
    for (d, &a) in dims.iter().zip(actual) {
        match d {
            Dim::Fixed(n) => {
                if *n != a as u64 {
                    return Ok(false);
                }
            }
            Dim::Symbolic(s) => match symbols.iter().find(|(name, _)| name == s) {
                Some((_, bound)) if *bound != a => return Ok(false),
                Some(_) => {}
                None => {
                    limits.check_symbol(s, a)?;
                    symbols.push((s.clone(), a));
                }
            },
        }
    }
    Ok(true)
}

impl Session {
    /// A session for `model`.
    pub fn new(model: &Model, options: SessionOptions) -> Result<Session> {
        let isa = match options.isa {
            Some(isa) if isa.is_available() => isa,
            Some(isa) => Isa::parse_forced(isa.name())?,
            None => Isa::selected()?,
        };
        let threads = match options.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let pool = if threads > 1 {
            Some(WorkerPool::new(threads).map_err(|e| Error::ThreadPool {
                threads,
                reason: e.to_string(),
            })?)
        } else {
            None
        };
        Ok(Session {
            model: model.clone(),
            isa,
            threads,
            limits: options.limits.unwrap_or_else(|| model.limits().clone()),
            pool,
            plans: Vec::new(),
            state: RunState::default(),
            passthrough: Vec::new(),
        })
    }

    /// The model this session runs.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The SIMD tier its kernels use.
    pub fn isa(&self) -> Isa {
        self.isa
    }

    /// Worker threads per run.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// The resource limits its plans and runs obey.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Runs the model on named ndarray inputs (see [`Input`]); every model
    /// input must be given once.
    ///
    /// ```no_run
    /// # fn main() -> pocketnn::Result<()> {
    /// use pocketnn::{Model, Session, SessionOptions};
    /// let model = Model::load("mnist.pnn")?;
    /// let mut session = Session::new(&model, SessionOptions::default())?;
    /// let image = ndarray::Array4::<f32>::zeros((1, 1, 28, 28));
    /// let outputs = session.run(&[("input", (&image).into())])?;
    /// let logits = outputs.f32("logits")?;
    /// # let _ = logits; Ok(()) }
    /// ```
    pub fn run<'s>(&'s mut self, inputs: &[(&str, Input<'_>)]) -> Result<Outputs<'s>> {
        let views = inputs
            .iter()
            .map(|(name, input)| Ok((*name, input.view()?)))
            .collect::<Result<Vec<_>>>()?;
        self.run_views(&views)
    }

    /// Runs the model on named tensor views of any dtype.
    pub fn run_views<'s>(&'s mut self, inputs: &[(&str, TensorView<'_>)]) -> Result<Outputs<'s>> {
        let ordered = self.order_inputs(inputs)?;
        let shapes: Vec<Vec<usize>> = ordered.iter().map(|v| v.shape().to_vec()).collect();
        let plan_index = self.plan_for(&shapes)?;
        let model: &ModelInner = &self.model.inner;
        let plan = &self.plans[plan_index];
        self.state.apply(plan, &self.limits)?;
        let exec = Executor {
            model,
            plan,
            inputs: &ordered,
            isa: self.isa,
            threads: self.threads,
            limits: &self.limits,
        };
        let state = &mut self.state;
        match &self.pool {
            Some(pool) => pool.install(|| exec.run(state))?,
            None => exec.run(state)?,
        }
        // Outputs that are graph inputs outlive this call only as copies.
        let outputs = &model.graph.bodies[0].outputs;
        self.passthrough.clear();
        for &v in outputs {
            let copy = match model.graph.kinds.get(v as usize) {
                Some(crate::graph::ValueKind::Input(k)) => ordered.get(*k).map(|t| t.to_tensor()),
                _ => None,
            };
            self.passthrough.push(copy);
        }
        let mut entries = Vec::with_capacity(outputs.len());
        for (k, &v) in outputs.iter().enumerate() {
            let name = model.def.graph.values[v as usize].name.as_str();
            let view = match &self.passthrough[k] {
                Some(t) => t.view(),
                None => value_view(model, plan, &[], &self.state.slots, &self.state.shapes, v)?,
            };
            entries.push((name, view));
        }
        Ok(Outputs { entries })
    }

    /// Checks names, dtypes and shapes and puts the inputs in model order.
    fn order_inputs<'a>(&self, given: &[(&str, TensorView<'a>)]) -> Result<Vec<TensorView<'a>>> {
        let declared = self.model.inputs();
        for (i, (name, _)) in given.iter().enumerate() {
            if !declared.iter().any(|d| d.name == *name) {
                return Err(Error::UnknownInput {
                    name: name.to_string(),
                    expected: declared
                        .iter()
                        .map(|d| d.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
            if given[..i].iter().any(|(n, _)| n == name) {
                return Err(Error::DuplicateInput {
                    name: name.to_string(),
                });
            }
        }
        let mut symbols = Vec::new();
        declared
            .iter()
            .map(|d| {
                let (_, view) = given.iter().find(|(n, _)| *n == d.name).ok_or_else(|| {
                    Error::MissingInput {
                        name: d.name.clone(),
                    }
                })?;
                if view.dtype() != d.dtype {
                    return Err(Error::InputDType {
                        name: d.name.clone(),
                        expected: d.dtype,
                        actual: view.dtype(),
                    });
                }
                if !shape_matches(&d.shape, view.shape(), &mut symbols, &self.limits)? {
                    return Err(Error::InputShape {
                        name: d.name.clone(),
                        expected: d.shape_string(),
                        actual: view.shape().to_vec(),
                    });
                }
                let what = || format!("input `{}`", d.name);
                self.limits.check_shape(&what, view.dtype(), view.shape())?;
                Ok(*view)
            })
            .collect()
    }

    /// The index of the plan for these input shapes, planning if needed.
    fn plan_for(&mut self, shapes: &[Vec<usize>]) -> Result<usize> {
        if let Some(i) = self.plans.iter().position(|p| p.input_shapes == shapes) {
            return Ok(i);
        }
        let plan = make_plan(&self.model.inner, shapes, self.isa, &self.limits)?;
        if self.plans.len() >= PLAN_CACHE {
            self.plans.remove(0);
        }
        self.plans.push(plan);
        Ok(self.plans.len() - 1)
    }
}
