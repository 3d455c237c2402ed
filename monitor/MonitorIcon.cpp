#include "MonitorIcon.h"

#include <QLinearGradient>
#include <QPainter>
#include <QPainterPath>
#include <QPixmap>

namespace wingman::monitor {

namespace {

QPixmap paintIcon(int size)
{
    QPixmap pixmap(size, size);
    pixmap.fill(Qt::transparent);
    QPainter painter(&pixmap);
    painter.setRenderHint(QPainter::Antialiasing);
    painter.scale(size / 256.0, size / 256.0);

    QLinearGradient background(0, 8, 0, 248);
    background.setColorAt(0, QColor(0x2b, 0x4c, 0x7e));
    background.setColorAt(1, QColor(0x14, 0x26, 0x4a));
    painter.setPen(Qt::NoPen);
    painter.setBrush(background);
    painter.drawRoundedRect(QRectF(8, 8, 240, 240), 48, 48);

    QPainterPath wing;
    wing.moveTo(40, 150);
    wing.cubicTo(70, 90, 120, 62, 216, 52);
    wing.cubicTo(180, 74, 160, 88, 146, 104);
    wing.cubicTo(170, 100, 186, 100, 204, 104);
    wing.cubicTo(176, 116, 158, 124, 142, 134);
    wing.cubicTo(158, 134, 170, 136, 182, 140);
    wing.cubicTo(150, 150, 118, 156, 40, 150);
    QLinearGradient feather(40, 52, 216, 156);
    feather.setColorAt(0, Qt::white);
    feather.setColorAt(1, QColor(0xb9, 0xd3, 0xf5));
    painter.setBrush(feather);
    painter.drawPath(wing);

    const QPointF pulse[] = { { 36, 192 }, { 84, 192 }, { 102, 168 }, { 124, 214 }, { 146, 178 },
        { 160, 192 }, { 220, 192 } };
    painter.setBrush(Qt::NoBrush);
    painter.setPen(QPen(QColor(0x5f, 0xd3, 0x8d), 12, Qt::SolidLine, Qt::RoundCap, Qt::RoundJoin));
    painter.drawPolyline(pulse, int(std::size(pulse)));
    return pixmap;
}

} // namespace

QIcon monitorIcon()
{
    QIcon icon;
    for (const int size : { 16, 24, 32, 48, 64, 128, 256 })
        icon.addPixmap(paintIcon(size));
    return icon;
}

} // namespace wingman::monitor
