#pragma once

#include <QCborValue>
#include <QString>

namespace wingman::crdt {

// Value -> text exactly as TopGun's stringifyValue() does in JavaScript, for the OR-map hashes
// (docs/core.md "stringify"): nil -> "null", a string itself, numbers as Number.prototype.toString,
// booleans, and maps and arrays as JSON.stringify(value, Object.keys(value).sort()), i.e. with
// the sorted top-level keys as a whitelist applied at every depth.
//
// Values without a plain JavaScript counterpart follow what a browser client decodes them to:
// byte arrays are Uint8Arrays (objects keyed "0", "1", ...); integers beyond 2^53 (and uint64
// bignums) are BigInts, printed exactly; other tags stand for their tagged value.
class JsStringify
{
public:
    static QString stringify(const QCborValue &value);
    static void appendStringify(QString &out, const QCborValue &value);

    // Number.prototype.toString: shortest round-trip digits, exponent form outside
    // [1e-7, 1e21), "NaN", "Infinity", "-Infinity", and "0" for -0.
    static QString number(double value);
    static void appendNumber(QString &out, double value);
    // JSON.stringify's quoting of a string.
    static void appendJsonString(QString &out, QStringView text);
};

} // namespace wingman::crdt
