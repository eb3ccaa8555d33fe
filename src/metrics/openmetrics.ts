import { type Metric, type OpenMetricsContentType, Registry } from 'prom-client'

interface Family {
  name: string
  help: string
  get(): Promise<{ name: string; type: string }>
}

/**
 * A registry in OpenMetrics 1.0 text (with `# EOF`), leaving the registry itself untouched. Public
 * prom-client API only: a throwaway registry set to OpenMetrics (`setContentType`) holds a view of
 * each family. Rendering OpenMetrics renames counters in place (drops `_total`); done on the views,
 * it cannot corrupt the next text scrape of the real registry.
 */
export async function renderOpenMetrics(registry: Registry): Promise<string> {
  const formatter = new Registry<OpenMetricsContentType>()
  formatter.setContentType(Registry.OPENMETRICS_CONTENT_TYPE)
  for (const family of registry.getMetricsAsArray() as unknown as Family[]) {
    const view = {
      name: family.name,
      help: family.help,
      async get() {
        const snapshot = await family.get()
        // OpenMetrics names the counter family without `_total`; samples get it back.
        return snapshot.type === 'counter'
          ? { ...snapshot, name: snapshot.name.replace(/_total$/, '') }
          : snapshot
      },
      reset() {},
    }
    formatter.registerMetric(view as unknown as Metric)
  }
  return formatter.metrics()
}
