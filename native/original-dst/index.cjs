'use strict';
// The compiled addon; `npm ci` builds it with node-gyp (binding.gyp) from original_dst.c.
module.exports = require('./build/Release/original_dst.node');
