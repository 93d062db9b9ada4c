// The kubelet rewrites `command`, `args` and `env[].value` before the
// container starts: `$(VAR)` becomes the value of the container's variable VAR
// and `$$` becomes `$` (k8s.io/kubernetes third_party/forked/golang/expansion).
// So a value pasted in verbatim is not what the program receives: `a$$b`
// arrives as `a$b`, and `$(DB_PASSWORD)` arrives as the password. kjd escapes
// every `$` of a value it inserts into those fields.

/** `value` written so that the kubelet's expansion gives back exactly `value`. */
export function escapeKubeExpansion(value: string): string {
  return value.replaceAll('$', '$$$$');
}

/**
 * What the kubelet makes of `input`, given the container's variables: a port
 * of `expansion.Expand` with `MappingFuncFor` (an unknown `$(VAR)` stays as
 * written). For tests and for showing what a container will really run.
 */
export function expandLikeKubelet(input: string, vars: ReadonlyMap<string, string>): string {
  let out = '';
  let checkpoint = 0;
  for (let cursor = 0; cursor < input.length; cursor++) {
    if (input[cursor] !== '$' || cursor + 1 >= input.length) continue;
    out += input.slice(checkpoint, cursor);
    const next = input[cursor + 1];
    let advance = 1;
    if (next === '$') out += '$';
    else if (next === '(') {
      const close = input.indexOf(')', cursor + 2);
      if (close < 0) out += '$(';
      else {
        const name = input.slice(cursor + 2, close);
        out += vars.get(name) ?? `$(${name})`;
        advance = close - cursor;
      }
    } else out += `$${next ?? ''}`;
    cursor += advance;
    checkpoint = cursor + 1;
  }
  return out + input.slice(checkpoint);
}
