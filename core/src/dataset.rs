//! [`Dataset`]: a typed stream (Spark's `Dataset[T]`) with `map`, `flat_map`, `filter` and
//! `group_by_key`, and [`KeyValueGroupedDataset`] with `count`, `reduce_groups` and `agg`.
//!
//! Stateless stages before an aggregation are fused into one pipeline that runs per input
//! chunk; each stage is a monomorphised loop over the chunk's elements, so the only dynamic
//! call is one per stage per chunk.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::data::Data;
use crate::exec::{
    AggregateExec, Aggregator, BatchExec, Count, ExecMetrics, MapExec, Pipeline, ReduceGroups,
    ScanExec, explain_line,
};
use crate::row::{RowField, Schema};
use crate::session::Session;
use crate::source::SourceFactory;
use crate::streaming::DataStreamWriter;

enum Node<T> {
    /// Stateless stages over the source, not yet run.
    Scan { stages: Vec<String>, pipeline: Pipeline<T> },
    /// A compiled operator tree (after an aggregation).
    Exec(Arc<dyn BatchExec<T>>),
}

impl<T> Clone for Node<T> {
    fn clone(&self) -> Self {
        match self {
            Node::Scan { stages, pipeline } => {
                Node::Scan { stages: stages.clone(), pipeline: pipeline.clone() }
            }
            Node::Exec(e) => Node::Exec(e.clone()),
        }
    }
}

/// A typed stream of `T`.
pub struct Dataset<T> {
    pub(crate) session: Session,
    pub(crate) source: Arc<dyn SourceFactory>,
    node: Node<T>,
    /// Logical operators, source first.
    logical: Vec<String>,
    /// Output column names other than `T`'s own (e.g. `key`, `count(1)`).
    names: Option<Vec<String>>,
    /// An analysis error found while building, reported by `start()`.
    pub(crate) error: Option<String>,
}

impl<T> Clone for Dataset<T> {
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
        let read: Pipeline<T> = Arc::new(move |chunk| T::from_batch(&schema, chunk));
        let logical = vec![format!("StreamingRelation {}", source.description())];
        Dataset {
            session,
            source,
            node: Node::Scan { stages: Vec::new(), pipeline: read },
            logical,
            names: None,
            error: None,
        }
    }

    fn derive<U>(&self, node: Node<U>, logical: &str) -> Dataset<U> {
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

    /// Applies a whole-batch transform, fused into the scan when there is no aggregation yet.
    fn stage<U: Data>(
        &self,
        name: &str,
        f: impl Fn(Vec<T>) -> Vec<U> + Send + Sync + 'static,
    ) -> Dataset<U> {
        let node = match &self.node {
            Node::Scan { stages, pipeline } => {
                let prev = pipeline.clone();
                let mut stages = stages.clone();
                stages.push(name.to_owned());
                let pipeline: Pipeline<U> = Arc::new(move |chunk| Ok(f(prev(chunk)?)));
                Node::Scan { stages, pipeline }
            }
            Node::Exec(input) => Node::Exec(Arc::new(MapExec {
                input: input.clone(),
                name: name.to_owned(),
                f: Arc::new(f),
                metrics: ExecMetrics::default(),
            })),
        };
        self.derive(node, name)
    }

    /// `f` applied to every element.
    pub fn map<U: Data>(&self, f: impl Fn(T) -> U + Send + Sync + 'static) -> Dataset<U> {
        self.stage("MapElements", move |items: Vec<T>| items.into_iter().map(&f).collect())
    }

    /// Every element `f` returns, for every element.
    pub fn flat_map<U: Data, I: IntoIterator<Item = U>>(
        &self,
        f: impl Fn(T) -> I + Send + Sync + 'static,
    ) -> Dataset<U> {
        // Outputs per input seen in the last chunk, so the next chunk's vector is allocated
        // once at about its final size instead of growing by doubling.
        let fan_out = AtomicUsize::new(1);
        self.stage("FlatMapElements", move |items: Vec<T>| {
            let inputs = items.len();
            let mut out = Vec::with_capacity(inputs * fan_out.load(Ordering::Relaxed) + 1);
            for item in items {
                // `for_each` rather than `extend`: it folds, and an iterator's `fold` can keep
                // its state in registers (`split`'s does).
                f(item).into_iter().for_each(|u| out.push(u));
            }
            fan_out.store(out.len().div_ceil(inputs.max(1)).clamp(1, 64), Ordering::Relaxed);
            out
        })
    }

    /// The elements for which `f` is true.
    pub fn filter(&self, f: impl Fn(&T) -> bool + Send + Sync + 'static) -> Dataset<T> {
        self.stage("Filter", move |mut items: Vec<T>| {
            items.retain(|x| f(x));
            items
        })
    }

    /// Groups the elements by the key `f` computes (Spark's `groupByKey`).
    pub fn group_by_key<K, F>(&self, f: F) -> KeyValueGroupedDataset<K, T, F>
    where
        K: RowField + Send + Sync + 'static,
        F: Fn(&T) -> K + Send + Sync + 'static,
    {
        KeyValueGroupedDataset { input: self.clone(), key_fn: f, key: std::marker::PhantomData }
    }

    /// Starts describing how the stream is written.
    pub fn write_stream(&self) -> DataStreamWriter<T> {
        DataStreamWriter::new(self.clone())
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
            Node::Scan { stages, pipeline } => Arc::new(self.scan_exec(stages, pipeline)),
            Node::Exec(e) => e.clone(),
        }
    }

    fn scan_exec(&self, stages: &[String], pipeline: &Pipeline<T>) -> ScanExec<T> {
        ScanExec {
            source: self.source.description(),
            stages: stages.to_vec(),
            pipeline: pipeline.clone(),
            metrics: ExecMetrics::default(),
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

/// A dataset grouped by key (Spark's `KeyValueGroupedDataset`).
pub struct KeyValueGroupedDataset<K, V, F> {
    input: Dataset<V>,
    key_fn: F,
    key: std::marker::PhantomData<fn() -> K>,
}

impl<K, V, F> KeyValueGroupedDataset<K, V, F>
where
    K: RowField + Send + Sync + 'static,
    V: Data,
    F: Fn(&V) -> K + Send + Sync + 'static,
{
    /// The aggregation `agg` of every key's values: a dataset of `(key, result)`.
    pub fn agg<A: Aggregator<V>>(self, agg: A) -> Dataset<(K, A::Out)> {
        let name = agg.name();
        let logical = format!("Aggregate [key] {name}");
        match &self.input.node {
            Node::Scan { stages, pipeline } => {
                let scan = Arc::new(self.input.scan_exec(stages, pipeline));
                let exec = AggregateExec::new(scan, self.key_fn, agg, 0);
                let mut out = self.input.derive(Node::Exec(Arc::new(exec)), &logical);
                out.names = Some(vec!["key".to_owned(), name]);
                out
            }
            Node::Exec(_) => {
                let message = "Multiple streaming aggregations are not supported with streaming \
                               DataFrames/Datasets";
                let pipeline: Pipeline<(K, A::Out)> = Arc::new(|_| Ok(Vec::new()));
                let mut out =
                    self.input.derive(Node::Scan { stages: Vec::new(), pipeline }, &logical);
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
