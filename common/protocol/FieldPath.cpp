#include "protocol/FieldPath.h"

#include <QStringList>

namespace wingman::protocol {

QString FieldPath::toString(QLatin1StringView leaf) const
{
    QStringList parts;
    if (!leaf.isEmpty())
        parts.append(leaf);
    for (const FieldPath *p = this; p; p = p->m_parent) {
        if (p->m_index >= 0)
            parts.prepend(QString::number(p->m_index));
        else if (!p->m_name.isEmpty())
            parts.prepend(p->m_name);
    }
    return parts.join(QLatin1Char('.'));
}

} // namespace wingman::protocol
