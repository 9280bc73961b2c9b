// Generates js-golden.json (see README.md) from GrowthBook's sdk-js evalCondition and
// paddedVersionString, transpiled to CommonJS in ./out: node gen-js-golden.js > js-golden.json
const { evalCondition } = require("./out/mongrule.js");
const { paddedVersionString } = require("./out/util.js");

function sortKeys(v) {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === "object") {
    const o = {};
    for (const k of Object.keys(v).sort()) o[k] = sortKeys(v[k]);
    return o;
  }
  return v;
}

const values = [
  null, true, false, 0, -0, 1, -1, 5, 8, 10, 1.5, 0.1, 1e21, 1e-7, 123456789012345680000, 2e-7, 1e300,
  "", " ", "0", "5", " 5 ", "\t5\n", "5e0", "5.", ".5", "+5", "-5", "0x10", "0X1f", "0b11", "0o17", "-0x10", "0x", "Infinity", "-Infinity", "inf", "1_000", "1e1000",
  "8", "10", "9", "abc", "ABC", "Abc", "a", "B", "null", "true", "false", "[object Object]", "1,2", "a,b", "US", "us", "Us", "uk",
  "İstanbul", "i̇stanbul", "ΟΔΟΣ", "οδος", "οδοσ", "Σ", "ΑΣ.", "ΑΣ'Α", "ǅ", "ß", "K", "\u212a", "é", "😀", "\uffff",
  "1.2.3", "v1.2.3", "1.2.3-beta", "1.2.3+build", "10.0.0", "1.2", "1..2", "1.2.3\n+x", "v", "+1.2.3", "١.٢.٣", "1.2.3.4",
  "a\nc", "abc", "foo bar", "x-y", "line\u2028break", "\u00a0", "abb", "a{", "/", "foobar", "\b",
  [], [0], [5], ["5"], [null], [true], [[5]], [[]], [1, 2], ["a", "b"], ["A", "b"], ["a", "B", "c"], [{}], [{ a: 1 }, { a: 2 }],
  [0, "", false, null], [1, "a", true], ["US"], [1.5], ["1.2.3"],
  {}, { a: 1 }, { a: { b: "c" } }, { a: [1, 2] }, { length: 3 }, { a: null },
];
const attributes = [{}].concat(values.map((v) => ({ x: v })));

const ops = [];
const add = (c) => ops.push(sortKeys(c));
const x = (v) => add({ x: v });

for (const lit of ["5", "", "null", "true", "false", "[object Object]", "1,2", "a,b", "5,", "1e+21", "1e-7", "2e-7",
  "123456789012345680000", "0.1", "us", "Infinity", 5, 0, 1, -1, 1.5, 1e21, 10, 8, true, false, null, [], [5], ["5"],
  ["a", "b"], [[5]], {}, { a: 1 }, { a: { b: "c" } }]) x(lit);
for (const v of [5, "5", true, false, null, 0, "", "us", 1.5]) { x({ $eq: v }); x({ $ne: v }); }
for (const v of [5, "5", 0, "", "10", "9", "a", "B", "1e1", "0x10", -1, 1e21, "[object Object]", "1,2", "\uffff", "😀"]) {
  for (const op of ["$lt", "$lte", "$gt", "$gte"]) x({ [op]: v });
}
for (const list of [[5, "5"], ["a", "b"], ["A"], [null], [true], [false], [0, ""], [], ["us", "uk"], ["ΟΔΟΣ"], ["i̇stanbul"],
  ["İSTANBUL"], ["k"], ["ß"], [1.5, "1.2.3"], ["a", "b", "c", "d", "e", "f", "g", "h", "i", "US"]]) {
  for (const op of ["$in", "$nin", "$ini", "$nini"]) x({ [op]: list });
}
for (const list of [["a"], ["A", "b"], [5], [{ $gt: 4 }], [[5]], [], ["a", { $eq: "b" }], ["A", "B"], [null], [true], ["1"]]) {
  x({ $all: list }); x({ $alli: list });
}
for (const v of [0, 1, 2, { $gt: 0 }, { $lte: 1 }, { $in: [0, 2] }]) x({ $size: v });
for (const v of [{ $gt: 0 }, { $eq: 0 }, { $eq: "a" }, { a: 1 }, { $exists: true }, {}, { a: { $exists: false } },
  { $type: "number" }, { $in: ["a", "b"] }, { $not: { $eq: "a" } }, { "a": { $gt: 1 } }]) x({ $elemMatch: v });
for (const v of [true, false]) x({ $exists: v });
for (const v of ["string", "number", "boolean", "array", "object", "null"]) x({ $type: v });
for (const v of [5, "a", { $gt: 1 }, { $in: ["a"] }, null, [], true, { $regex: "^a" }, { $size: 0 }]) x({ $not: v });
for (const re of ["^5$", "a", "^$", "null", "^[0-9]+$", "\\d", "\\s", "^\\S+$", ".", "^.$", "[^]", "[]", "^[^]$", "\\u0041",
  "\\x41", "\\cJ", "^a|b$", "[\\s\\d]", "ab{2}", "a{", "a{,2}", "\\/", "/", "[a-c]", "\\bfoo", "(?:a|b)c", "(?<n>a)b", "\\z",
  "\\e", "\\-", "[\\b]", "a.c", "[\\S]", "[^\\s]", "\\u00e9", "^\\w+$", "[\\w-]", "[-a]", "[a-]", "\\]", "}", "x*", "\\.",
  "^(a|b)*$", "1,2", "object", "^true$", "\\0", "[\\cJ]", "\\k", "^.{3}$", "\\x4", "\\u00", "Infinity"]) {
  x({ $regex: re }); x({ $regexi: re });
}
for (const re of ["^abc$", "ΟΔΟΣ", "[a-z]+", "\\w", "İ", "ß", "σ"]) x({ $regexi: re });
for (const v of ["1.2.3", "v1.2.3", "1.2.3-beta", "10.0.0", 2, 1.5, "1", "1.2", "1..2", "0", "1.2.3-alpha.10", "2.1.0", "١.٢.٣"]) {
  for (const op of ["$veq", "$vne", "$vgt", "$vgte", "$vlt", "$vlte"]) x({ [op]: v });
}
for (const g of ["g", "missing", "empty"]) { x({ $inGroup: g }); x({ $notInGroup: g }); }
x({ $gt: 1, $lt: 10 }); x({ $exists: true, $ne: 5 }); x({ $in: ["a"], $size: 2 });
for (const p of ["x.a", "x.0", "x.1", "x.length", "x.a.b", "x.00", "x.-1", "x.", "x.a.0"]) {
  add({ [p]: { $exists: true } }); add({ [p]: 1 }); add({ [p]: "c" }); add({ [p]: null });
}
add({ $and: [] }); add({ $or: [] }); add({ $nor: [] }); add({ $not: {} });
add({ $or: [{ x: 5 }, { x: "a" }] }); add({ $nor: [{ x: 5 }, { x: { $type: "string" } }] });
add({ $and: [{ x: { $exists: true } }, { $not: { x: null } }] }); add({ $not: { x: { $gt: 1 } } });
add({ $or: [{ x: { $in: ["US"] } }, { $and: [{ x: { $size: 2 } }, { "x.0": "a" }] }] });

const groups = { g: [1, "2", null, true, [1], { a: 1 }, "a", "US"], empty: [] };
const conditions = ops.map((c) => ({
  condition: c,
  expected: attributes.map((a) => (evalCondition(a, c, groups) ? "1" : "0")).join(""),
}));

const numbers = [0, -0, 1, -1, 0.1, 1.5, 1e21, 1e-7, 1e-6, 123456789012345680000, 2 ** 53, 2 ** 53 + 2, 1 / 3, 5e-324,
  1.7976931348623157e308, 100, 1e20, 1.2345e-5, -1e-7, 4.35, 0.000001234, 1e100, 123e-20];
const strings = ["", " ", "0", "5", " 5 ", "\u00a05\u3000", "\ufeff7", "5e0", "5.", ".5", ".", "+5", "-5", "+-5", "0x10", "0X1f",
  "0b11", "0o17", "0B2", "0o8", "-0x10", "+0x10", "0x", "0x1p3", "Infinity", "-Infinity", "+Infinity", "infinity", "inf", "NaN",
  "1_000", "1e1000", "-1e1000", "1e-1000", "1e", "e5", "1e+5", "1E-5", "00012", "0.0000001", "12abc", "0xffffffffffffffffffff",
  "0b" + "1".repeat(70), "0o" + "7".repeat(30), "0x1fffffffffffff", "0x20000000000001", "0x20000000000003", "9007199254740993", "\u2028 8 \u2029"];
const lowers = ["ABC", "İstanbul", "ΟΔΟΣ", "ΟΔΟΣ ΟΔΟΣ", "Σ", "ΑΣ.", "ΑΣ'Α", "Α'Σ", "ΑΣ\u0301", "ΑΣ1", "1Σ", "ǅ", "ß", "ẞ",
  "\u212a", "É", "Ⅻ", "ⓐⒶ", "𐐀", "ΑΣ.Α", "ΑΣ:", "Α\u00adΣ"];
const versions = ["1.2.3", "v1.2.3", "1.2.3-beta", "1.2.3+build", "v", "", "+1.2.3", "1.2.3\n+x", "1.2.3+a\nb", "v1.2.3+x+y",
  "1..2", "1.2.", "-1.2.3", "123456", "1.2.3.4", "١.٢.٣", "vv1", "1-2-3", "a.b.c", "1.2.3\u2028+x", "00001.2"];
const padded = versions.map((v) => [v, paddedVersionString(v)]).concat(
  [1.5, 2, 1e21, 0, -1].map((n) => [n, paddedVersionString(n)]));

const out = {
  source: "GrowthBook sdk-js src/mongrule.ts evalCondition and src/util.ts paddedVersionString, run in Node.js " + process.version,
  savedGroups: groups,
  attributes,
  conditions,
  numberToString: numbers.map((n) => [n, String(n)]),
  stringToNumber: strings.map((s) => [s, Number.isNaN(Number(s)) ? null : Number(s) === Infinity ? "Infinity" : Number(s) === -Infinity ? "-Infinity" : Number(s)]),
  toLowerCase: lowers.map((s) => [s, s.toLowerCase()]),
  paddedVersionString: padded,
};
process.stdout.write(JSON.stringify(out, null, 0).replace(/\],\[/g, "],\n[").replace(/\},\{"condition"/g, "},\n{\"condition\"") + "\n");
