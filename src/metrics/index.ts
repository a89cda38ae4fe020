// aya-node/metrics: eBPF maps and the bundled tools as Prometheus and OpenTelemetry metrics.
// prom-client and @opentelemetry/api are optional peer dependencies: nothing here loads them
// until registerPromClient() is called (OpenTelemetry's Meter is passed in by the user).

export {
  counter,
  gauge,
  histogram,
  log2Bounds,
  OTHER,
  DEFAULT_MAX_SERIES,
  type Metric,
  type CounterMetric,
  type GaugeMetric,
  type HistogramMetric,
  type Labels,
  type ValueSample,
  type HistogramSample,
  type Observation,
  type BucketObservation,
  type MetricOptions,
  type HistogramOptions,
} from './metric';
export { mapCounter, mapGauge, mapHistogram, type MapMetricOptions, type MapHistogramOptions } from './maps';
export { EventCounter, EventHistogram } from './events';
export { render, negotiateFormat, PROMETHEUS_CONTENT_TYPE, OPENMETRICS_CONTENT_TYPE, type ExpositionFormat } from './exposition';
export { registerPromClient, type PromClientRegistry } from './prom-client';
export { observeOpenTelemetry, type MeterLike, type BatchResultLike } from './opentelemetry';
export {
  TOOL_NAMES,
  type ToolName,
  type ToolMetrics,
  type ToolMetricsOptions,
  openToolMetrics,
  syscountMetrics,
  latencyMetric,
  tcplifeMetrics,
  execsnoopMetrics,
  droppedEventsMetric,
  type DropCounting,
  TCP_DURATION_BOUNDS,
} from './tools';
export { startExporter, type Exporter, type ExporterOptions } from './exporter';
export { syscallName } from '../tools/syscalls';
export { processComm } from '../tools/syscount';
