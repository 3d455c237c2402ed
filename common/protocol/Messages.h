#pragma once

// Every typed protocol message. A dispatcher reads `type` from the decoded frame, maps it with
// messageTypeFromName() and decodes with the matching X::fromCbor(); X::toCbor() plus
// Frame::encode() produce outgoing frames. BATCH frames are BatchContainer's.
#include "protocol/AuthMessages.h"
#include "protocol/BatchContainer.h"
#include "protocol/ClusterMessages.h"
#include "protocol/JournalMessages.h"
#include "protocol/LifecycleMessages.h"
#include "protocol/MessageTypes.h"
#include "protocol/OrMapSyncMessages.h"
#include "protocol/PrimitiveMessages.h"
#include "protocol/ProcessorMessages.h"
#include "protocol/QueryMessages.h"
#include "protocol/SearchMessages.h"
#include "protocol/SyncMessages.h"
#include "protocol/WriteMessages.h"
