#pragma once

#include <QLatin1StringView>
#include <QString>

namespace wingman::protocol {

// Where a value sits inside a message ("payload.ops.3.record"). Decoders keep it as a chain of
// stack objects and turn it into text only when a field is wrong, so valid messages pay nothing.
class FieldPath
{
public:
    FieldPath() = default;
    FieldPath(const FieldPath &parent, QLatin1StringView name)
        : m_parent(&parent)
        , m_name(name)
    { }
    FieldPath(const FieldPath &parent, qsizetype index)
        : m_parent(&parent)
        , m_index(index)
    { }

    // Dotted form, array indexes as numbers; with `leaf` appended when given.
    QString toString(QLatin1StringView leaf = {}) const;

private:
    const FieldPath *m_parent = nullptr;
    QLatin1StringView m_name;
    qsizetype m_index = -1;
};

} // namespace wingman::protocol
