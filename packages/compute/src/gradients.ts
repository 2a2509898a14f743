// tfjs-core registers no gradient functions by itself: the @tensorflow/tfjs bundle does, for the
// shared tfjs-core instance. Without this, tf.grads / optimizers fail with "gradient function not
// found" for ordinary ops. Imported for its side effect by index.ts.
// backend.js first: it sets tfjs's PROD flag, so loading the bundle prints nothing.
import './backend.js';
import '@tensorflow/tfjs';
