// The camera: a live preview and still JPEG snapshots (selfies, room photos).
"use strict";

window.MusterCamera = {
  async start(video, facingMode) {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return false;
    try {
      video.srcObject = await navigator.mediaDevices.getUserMedia({
        video: { facingMode, width: { ideal: 1280 }, height: { ideal: 720 } },
        audio: false,
      });
      await video.play().catch(() => {});
      return true;
    } catch (error) {
      return false;
    }
  },

  stop(video) {
    const stream = video.srcObject;
    if (stream) stream.getTracks().forEach((track) => track.stop());
    video.srcObject = null;
  },

  // A JPEG of what the camera sees now (null when it shows nothing yet), at most maxWidth
  // pixels wide: the face engine looks at selfies no larger than 800 px anyway.
  snapshot(video, canvas, quality, maxWidth) {
    if (!video.videoWidth) return Promise.resolve(null);
    const scale = Math.min(1, (maxWidth || video.videoWidth) / video.videoWidth);
    canvas.width = Math.round(video.videoWidth * scale);
    canvas.height = Math.round(video.videoHeight * scale);
    const taken = new Date();
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", quality || 0.9))
      .then((blob) => (blob ? window.MusterCamera.stamp(blob, taken) : blob));
  },

  // A canvas JPEG says nothing about when it was taken: write the moment in, as a camera
  // does (EXIF DateTimeOriginal and its zone offset), so the evidence rules can compare it
  // with the upload and the session instead of flagging every kiosk photo as without EXIF.
  async stamp(blob, when) {
    const pad = (n) => String(n).padStart(2, "0");
    const wall = `${when.getFullYear()}:${pad(when.getMonth() + 1)}:${pad(when.getDate())} `
      + `${pad(when.getHours())}:${pad(when.getMinutes())}:${pad(when.getSeconds())}`;
    const east = -when.getTimezoneOffset();
    const zone = `${east >= 0 ? "+" : "-"}${pad(Math.floor(Math.abs(east) / 60))}:${pad(Math.abs(east) % 60)}`;
    // TIFF, big-endian: IFD0 points to the Exif IFD (at 26), which holds the two times
    const tiff = new DataView(new ArrayBuffer(84));
    const ascii = (at, text) => [...text].forEach((c, i) => tiff.setUint8(at + i, c.charCodeAt(0)));
    const entry = (at, tag, type, count, value) => {
      tiff.setUint16(at, tag); tiff.setUint16(at + 2, type);
      tiff.setUint32(at + 4, count); tiff.setUint32(at + 8, value);
    };
    ascii(0, "MM"); tiff.setUint16(2, 42); tiff.setUint32(4, 8);
    tiff.setUint16(8, 1); entry(10, 0x8769, 4, 1, 26); tiff.setUint32(22, 0);
    tiff.setUint16(26, 2); entry(28, 0x9003, 2, 20, 56); entry(40, 0x9011, 2, 7, 76);
    tiff.setUint32(52, 0);
    ascii(56, wall); ascii(76, zone);  // each NUL-terminated by the zeroed buffer
    const head = new Uint8Array([0xff, 0xe1, 0, 2 + 6 + 84, 0x45, 0x78, 0x69, 0x66, 0, 0]);
    const bytes = new Uint8Array(await blob.arrayBuffer());
    return new Blob([bytes.slice(0, 2), head, tiff.buffer, bytes.slice(2)], { type: "image/jpeg" });
  },
};
