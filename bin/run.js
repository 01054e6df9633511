#!/usr/bin/env node
// The mv-image CLI entry: oclif finds the compiled commands under dist/src/commands.
require('@oclif/core').execute({ dir: __dirname }).catch(require('@oclif/core/handle'));
