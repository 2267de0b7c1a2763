//! [`Dataset`]: a typed stream (Spark's `Dataset[T]`) with `map`, `flat_map`, `filter` and
//! `group_by_key`, and [`KeyValueGroupedDataset`] with `count`, `reduce_groups` and `agg`.
//!
//! Stateless stages before an aggregation are fused at compile time: a dataset's second type
//! parameter is its chain of stages ([`Stages`]), each stage's closure called directly by the
//! one before it, so the chain and the aggregation's pre-aggregation run as one loop per input
//! chunk, with no vector between stages and no dynamic call per element
//! (`exec/stages.rs`).

use std::marker::PhantomData;
use std::sync::Arc;

use crate::data::Data;
use crate::exec::{
    AggregateExec, Aggregator, BatchExec, Count, ExecMetrics, Filtered, FlatMapped, MapExec,
    Mapped, Read, ReduceGroups, ScanExec, Stages, explain_line,
};
use crate::row::{RowField, Schema};
use crate::session::Session;
use crate::source::SourceFactory;
use crate::streaming::DataStreamWriter;

enum Node<T, S> {
    /// Stateless stages over the source, not yet run.
    Scan { names: Vec<String>, stages: S },
    /// A compiled operator tree (after an aggregation).
    Exec(Arc<dyn BatchExec<T>>),
}

impl<T, S: Clone> Clone for Node<T, S> {
    fn clone(&self) -> Self {
        match self {
            Node::Scan { names, stages } => {
                Node::Scan { names: names.clone(), stages: stages.clone() }
            }
            Node::Exec(e) => Node::Exec(e.clone()),
        }
    }
}

/// A typed stream of `T`. `S` is the type of its stateless stages, fused at compile time
/// when they run on the source's rows (after an aggregation they run on its output, and `S`
/// only names them). A dataset as read (`as_`) or aggregated is a `Dataset<T>`; code that
/// takes datasets with stages is generic over `S: Stages<T>`.
pub struct Dataset<T, S = Read<T>> {
    pub(crate) session: Session,
    pub(crate) source: Arc<dyn SourceFactory>,
    node: Node<T, S>,
    /// Logical operators, source first.
    logical: Vec<String>,
    /// Output column names other than `T`'s own (e.g. `key`, `count(1)`).
    names: Option<Vec<String>>,
    /// An analysis error found while building, reported by `start()`.
    pub(crate) error: Option<String>,
}

impl<T, S: Clone> Clone for Dataset<T, S> {
    fn clone(&self) -> Self {
        Dataset {
            session: self.session.clone(),
            source: self.source.clone(),
            node: self.node.clone(),
            logical: self.logical.clone(),
            names: self.names.clone(),
            error: self.error.clone(),
        }
    }
}

impl<T: Data> Dataset<T> {
    pub(crate) fn scan(
        session: Session,
        source: Arc<dyn SourceFactory>,
        schema: Arc<Schema>,
    ) -> Self {
        let logical = vec![format!("StreamingRelation {}", source.description())];
        Dataset {
            session,
            source,
            node: Node::Scan { names: Vec::new(), stages: Read::new(schema) },
            logical,
            names: None,
            error: None,
        }
    }
}

impl<T: Data, S: Stages<T>> Dataset<T, S> {
    fn derive<U, R>(&self, node: Node<U, R>, logical: &str) -> Dataset<U, R> {
        let mut plan = self.logical.clone();
        plan.push(logical.to_owned());
        Dataset {
            session: self.session.clone(),
            source: self.source.clone(),
            node,
            logical: plan,
            names: None,
            error: self.error.clone(),
        }
    }

    /// Adds the stage `fused` builds from the stages so far, or after an aggregation, a
    /// [`MapExec`] applying `batch` to its whole output.
    fn stage<U: Data, R: Stages<U>>(
        &self,
        name: &str,
        fused: impl FnOnce(S) -> R,
        batch: impl Fn(Vec<T>) -> Vec<U> + Send + Sync + 'static,
    ) -> Dataset<U, R> {
        let node = match &self.node {
            Node::Scan { names, stages } => {
                let mut names = names.clone();
                names.push(name.to_owned());
                Node::Scan { names, stages: fused(stages.clone()) }
            }
            Node::Exec(input) => Node::Exec(Arc::new(MapExec {
                input: input.clone(),
                name: name.to_owned(),
                f: Arc::new(batch),
                metrics: ExecMetrics::default(),
            })),
        };
        self.derive(node, name)
    }

    /// `f` applied to every element.
    pub fn map<U, F>(&self, f: F) -> Dataset<U, Mapped<T, S, F>>
    where
        U: Data,
        F: Fn(T) -> U + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        let g = f.clone();
        self.stage(
            "MapElements",
            |stages| Mapped::new(stages, f),
            move |items: Vec<T>| items.into_iter().map(&*g).collect(),
        )
    }

    /// Every element `f` returns, for every element.
    pub fn flat_map<U, I, F>(&self, f: F) -> Dataset<U, FlatMapped<T, S, F>>
    where
        U: Data,
        I: IntoIterator<Item = U>,
        F: Fn(T) -> I + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        let g = f.clone();
        self.stage(
            "FlatMapElements",
            |stages| FlatMapped::new(stages, f),
            move |items: Vec<T>| items.into_iter().flat_map(&*g).collect(),
        )
    }

    /// The elements for which `f` is true.
    pub fn filter<F>(&self, f: F) -> Dataset<T, Filtered<S, F>>
    where
        F: Fn(&T) -> bool + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        let g = f.clone();
        self.stage(
            "Filter",
            |stages| Filtered::new(stages, f),
            move |mut items: Vec<T>| {
                items.retain(|x| g(x));
                items
            },
        )
    }

    /// Groups the elements by the key `f` computes (Spark's `groupByKey`).
    pub fn group_by_key<K, F>(&self, f: F) -> KeyValueGroupedDataset<K, T, F, S>
    where
        K: RowField + Send + Sync + 'static,
        F: Fn(&T) -> K + Send + Sync + 'static,
    {
        KeyValueGroupedDataset { input: self.clone(), key_fn: f, key: PhantomData }
    }

    /// Starts describing how the stream is written.
    pub fn write_stream(&self) -> DataStreamWriter<T> {
        DataStreamWriter::new(QueryPlan {
            session: self.session.clone(),
            source: self.source.clone(),
            exec: self.exec(),
            schema: self.schema(),
            logical: self.logical_plan(),
            error: self.error.clone(),
        })
    }

    /// The output's row schema.
    pub fn schema(&self) -> Arc<Schema> {
        let schema = T::schema();
        match &self.names {
            None => schema,
            Some(names) => {
                let fields = schema
                    .fields()
                    .iter()
                    .zip(names)
                    .map(|(f, n)| {
                        crate::row::Field::new(n.clone(), f.data_type.clone(), f.nullable)
                    })
                    .collect();
                Arc::new(Schema::new(fields))
            }
        }
    }

    /// The physical operator tree.
    pub(crate) fn exec(&self) -> Arc<dyn BatchExec<T>> {
        match &self.node {
            Node::Scan { names, stages } => Arc::new(self.scan_exec(names, stages)),
            Node::Exec(e) => e.clone(),
        }
    }

    fn scan_exec(&self, names: &[String], stages: &S) -> ScanExec<T, S> {
        ScanExec {
            source: self.source.description(),
            names: names.to_vec(),
            stages: stages.clone(),
            metrics: ExecMetrics::default(),
            element: PhantomData,
        }
    }

    /// Whether the plan has a stateful operator.
    pub fn is_stateful(&self) -> bool {
        matches!(self.node, Node::Exec(ref e) if !e.state_operators().is_empty())
    }

    /// The logical plan, root first.
    pub fn logical_plan(&self) -> String {
        let mut out = String::new();
        for (depth, op) in self.logical.iter().rev().enumerate() {
            explain_line(depth, &mut out, op);
        }
        out
    }

    /// The logical and physical plans (Spark's `explain(true)`).
    pub fn explain_string(&self) -> String {
        let mut physical = String::new();
        self.exec().explain(0, &mut physical);
        format!("== Logical Plan ==\n{}\n== Physical Plan ==\n{physical}", self.logical_plan())
    }

    /// Prints [`explain_string`](Self::explain_string).
    pub fn explain(&self) {
        print!("{}", self.explain_string());
    }
}

/// What `start()` takes of a dataset: its operators compiled, its stages erased behind them.
pub(crate) struct QueryPlan<T> {
    pub(crate) session: Session,
    pub(crate) source: Arc<dyn SourceFactory>,
    pub(crate) exec: Arc<dyn BatchExec<T>>,
    pub(crate) schema: Arc<Schema>,
    pub(crate) logical: String,
    pub(crate) error: Option<String>,
}

/// A dataset grouped by key (Spark's `KeyValueGroupedDataset`).
pub struct KeyValueGroupedDataset<K, V, F, S = Read<V>> {
    input: Dataset<V, S>,
    key_fn: F,
    key: PhantomData<fn() -> K>,
}

impl<K, V, F, S> KeyValueGroupedDataset<K, V, F, S>
where
    K: RowField + Send + Sync + 'static,
    V: Data,
    F: Fn(&V) -> K + Send + Sync + 'static,
    S: Stages<V>,
{
    /// The aggregation `agg` of every key's values: a dataset of `(key, result)`.
    pub fn agg<A: Aggregator<V>>(self, agg: A) -> Dataset<(K, A::Out)> {
        let name = agg.name();
        let logical = format!("Aggregate [key] {name}");
        match &self.input.node {
            Node::Scan { names, stages } => {
                let scan = self.input.scan_exec(names, stages);
                let exec = AggregateExec::new(scan, self.key_fn, agg, 0);
                let mut out = self.input.derive(Node::Exec(Arc::new(exec)), &logical);
                out.names = Some(vec!["key".to_owned(), name]);
                out
            }
            Node::Exec(_) => {
                let message = "Multiple streaming aggregations are not supported with streaming \
                               DataFrames/Datasets";
                // Never run: `start()` reports the error first.
                let stages = Read::new(Arc::new(Schema::new(Vec::new())));
                let mut out = self.input.derive(Node::Scan { names: Vec::new(), stages }, &logical);
                out.error = Some(message.to_owned());
                out
            }
        }
    }

    /// The number of values per key: a dataset of `(key, count)`.
    pub fn count(self) -> Dataset<(K, i64)> {
        self.agg(Count)
    }

    /// The values of every key folded with `f`: a dataset of `(key, value)`.
    pub fn reduce_groups(self, f: impl Fn(V, V) -> V + Send + Sync + 'static) -> Dataset<(K, V)>
    where
        V: RowField + Clone,
    {
        self.agg(ReduceGroups::new(f))
    }
}
