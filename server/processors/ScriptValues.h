#pragma once

#include <QCborValue>
#include <QString>

namespace wingman::processors {

// Values cross between records and scripts as plain data (docs/protocol.md "Entry processors"):
// maps as objects, arrays, strings, numbers, booleans, nil as null. They travel as JSON text,
// which both sides read natively.
class ScriptValues
{
public:
    // False for anything JSON cannot say: bytes, tags (ext), simple types other than the usual.
    static bool isPlain(const QCborValue &value);
    // The JSON text of a plain value; empty for undefined.
    static QString toJson(const QCborValue &value);
    // The value of JSON text; undefined for empty or invalid text. Integral numbers become
    // integers.
    static QCborValue fromJson(const QString &text);
    // Deep equality: maps regardless of key order, numbers by value.
    static bool deepEqual(const QCborValue &a, const QCborValue &b);
};

} // namespace wingman::processors
