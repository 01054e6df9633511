#!/usr/bin/env node
// The mv-image CLI entry: oclif finds the compiled commands under dist/src/commands. oclif's
// execute() without its error handler: a command line that names no command fails like a
// command does (src/lib/base-command.ts), the rest goes to oclif's handler.
const { flush, run } = require('@oclif/core');
const { handleTopLevel } = require('../dist/src/lib/base-command');
run(process.argv.slice(2), __dirname).then(() => flush()).catch(handleTopLevel);
