#!/usr/bin/env node
// The executable entry: bin/iscsiadm runs the compiled form of this file.
import { main } from './iscsiadm.js';

process.exitCode = await main(process.argv.slice(2), process.env);
