import test from 'ava';
import { enabledAdmissionPlugins, parseAdmissionPlugins } from '../../../src/apiserver-stub/admission-plugins.ts';

test('--disable-admission-plugins: comma-separated kube names; ServiceAccount is on unless named; an unknown name is an error', (t) => {
  t.deepEqual([...enabledAdmissionPlugins([])], ['ServiceAccount']);
  t.deepEqual([...enabledAdmissionPlugins(parseAdmissionPlugins('disable-admission-plugins', ['ServiceAccount']))], []);
  t.deepEqual(parseAdmissionPlugins('disable-admission-plugins', [' ServiceAccount,', '']), ['ServiceAccount']);
  t.throws(() => parseAdmissionPlugins('disable-admission-plugins', ['ServiceAccount,Foo']), { message: '--disable-admission-plugins plugin "Foo" is unknown (Ferry can turn off: ServiceAccount)' });
});
