// The engine's entry as piscina loads it in the package: a CommonJS module, which piscina
// require()s. An ES module it imports through `new Function('specifier', 'return import(specifier)')`,
// which --disallow-code-generation-from-strings (a hardening flag) refuses: the engines could
// never start. This one imports the engine (dist/workers/engine.js) itself, by a dynamic import
// of its own. (__esModule: piscina then takes `default` as it is, the promise of the engine's
// function, and awaits it.)
'use strict';
Object.defineProperty(exports, '__esModule', { value: true });
exports.default = import('./engine.js').then((m) => m.default);
