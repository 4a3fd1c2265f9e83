import { InvalidArgumentError } from '../util/errors.ts';

/**
 * The admission plugins one can turn off with `--disable-admission-plugins`,
 * by kube's names. Ferry always runs the others it has (NamespaceLifecycle,
 * the defaulting its strategies do); these are the ones that change what a
 * cluster without some controller can do.
 */
export const ADMISSION_PLUGINS = ['ServiceAccount'] as const;
export type AdmissionPlugin = (typeof ADMISSION_PLUGINS)[number];

export function isAdmissionPlugin(name: string): name is AdmissionPlugin {
  return (ADMISSION_PLUGINS as readonly string[]).includes(name);
}

/** enabledAdmissionPlugins: every plugin (all are on by default in kube) but the disabled ones. */
export function enabledAdmissionPlugins(disabled: readonly AdmissionPlugin[]): ReadonlySet<AdmissionPlugin> {
  return new Set(ADMISSION_PLUGINS.filter((p) => !disabled.includes(p)));
}

/** parseAdmissionPlugins reads a flag's comma-separated list; an unknown name is an error, as kube-apiserver's. */
export function parseAdmissionPlugins(flag: string, values: readonly string[]): AdmissionPlugin[] {
  const names = values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
  const unknown = names.find((n) => !isAdmissionPlugin(n));
  if (unknown !== undefined) throw new InvalidArgumentError(`--${flag} plugin "${unknown}" is unknown (Ferry can turn off: ${ADMISSION_PLUGINS.join(', ')})`);
  return names as AdmissionPlugin[];
}
