#pragma once

#include <QIcon>

namespace wingman::monitor {

// The app icon (resources/icons/wingman-monitor.svg) painted in code, so it shows without the
// SVG image plugin.
QIcon monitorIcon();

} // namespace wingman::monitor
