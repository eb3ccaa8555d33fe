#!/usr/bin/env node
// `npm run demo` builds dist/ first (scripts/build-if-needed.js); the demo itself is src/demo.ts.
import '../dist/demo.js'
